#pragma once
// MQTT topics and NATS subjects, mapped as nats-server 2.9 maps them: `/` separates levels
// (`.`), `+` is `*`, `#` is `>`, an empty level becomes the token `/`, and `.` or a space in
// a topic is refused. Pure functions.
#include <string>
#include <string_view>

namespace tern::core::mqtt {

// A topic name (wildcards refused) or a filter (`+`, `#` allowed) as a NATS subject. False
// (with *reason) when it cannot be one.
bool TopicToSubject(std::string_view topic, bool filter, std::string* subject, std::string* reason);
// A NATS subject as the topic an MQTT subscriber is shown, appended to *topic.
void SubjectToTopic(std::string_view subject, std::string* topic);

}  // namespace tern::core::mqtt

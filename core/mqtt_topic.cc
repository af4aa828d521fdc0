#include "core/mqtt_topic.h"

namespace tern::core::mqtt {

bool TopicToSubject(std::string_view topic, bool filter, std::string* subject,
                    std::string* reason) {
  subject->clear();
  subject->reserve(topic.size() + 4);
  bool after_separator = true;  // at the start, or right after an emitted '.'
  for (std::size_t i = 0; i < topic.size(); ++i) {
    const char c = topic[i];
    switch (c) {
      case '/':
        if (after_separator) {
          subject->append("/.");  // an empty level: the token '/'
        } else if (i + 1 == topic.size() || topic[i + 1] == '/') {
          subject->append("./");
          after_separator = false;
          continue;
        } else {
          subject->push_back('.');
        }
        after_separator = true;
        continue;
      case '.':
      case ' ':
        *reason = std::string("characters ' ' and '.' not supported for MQTT topics");
        return false;
      case '+':
      case '#':
        if (!filter) {
          *reason = "wildcards not allowed in publish's topic: " + std::string(topic);
          return false;
        }
        subject->push_back(c == '+' ? '*' : '>');
        break;
      default:
        subject->push_back(c);
    }
    after_separator = false;
  }
  if (!subject->empty() && subject->back() == '.') subject->push_back('/');
  return true;
}

void SubjectToTopic(std::string_view subject, std::string* topic) {
  for (std::size_t i = 0; i < subject.size(); ++i) {
    const char c = subject[i];
    if (c == '.') {
      topic->push_back('/');
      if (i + 1 < subject.size() && subject[i + 1] == '/') ++i;  // ". /" was an empty level
    } else if (c == '/' && i == 0 && subject.size() > 1 && subject[1] == '.') {
      // A leading "/." is an empty first level: the '/' alone stands for it.
    } else {
      topic->push_back(c);
    }
  }
}

}  // namespace tern::core::mqtt

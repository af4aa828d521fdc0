#include "core/mqtt_options.h"

#include "core/cluster_options.h"
#include "core/units.h"

namespace tern::core {
namespace {

bool ReadDuration(const ConfValue& v, const std::string& key, int64_t* out,
                  std::vector<std::string>* warnings, std::string* error) {
  if (v.type == ConfValue::Type::kInteger) {  // seconds, as nats-server still reads them
    warnings->push_back(v.Where() + ": " + key + " should be converted to a duration");
    *out = v.integer * 1'000'000'000;
    return true;
  }
  if (v.type != ConfValue::Type::kString || !ParseDuration(v.text, out)) {
    return ConfFail(v, "error parsing " + key + ": invalid duration \"" + v.text + "\"", error);
  }
  return true;
}

bool ReadInteger(const ConfValue& v, const std::string& key, int64_t* out, std::string* error) {
  if (v.type != ConfValue::Type::kInteger)
    return ConfFail(v, "mqtt '" + key + "' expects a number", error);
  *out = v.integer;
  return true;
}

}  // namespace

bool ParseMqttBlock(const ConfValue& block, MqttOptions* out, std::vector<std::string>* warnings,
                    std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "Expected mqtt to be a map", error);
  }
  bool has_port = false;
  const ConfValue* tls_block = nullptr;
  for (const auto& [key, v] : block.map) {
    int64_t number = 0;
    const ListenKey listen =
        ReadListenKey(key, v, "mqtt", &out->host, &out->port, &has_port, error);
    if (listen == ListenKey::kFailed) return false;
    if (listen == ListenKey::kRead) {
      // listen, host, port
    } else if (key == "tls") {
      if (!tls::ParseTlsBlock(v, &out->tls, error)) return false;
      tls_block = &v;
    } else if (key == "authorization" || key == "authentication") {
      if (!out->auth.ParseBlock(v, "mqtt", error)) return false;
    } else if (key == "no_auth_user") {
      if (!ConfString(v, key, &out->auth.no_auth_user, error)) return false;
    } else if (key == "ack_wait" || key == "ackwait") {
      if (!ReadDuration(v, key, &out->ack_wait_ns, warnings, error)) return false;
      if (out->ack_wait_ns <= 0) return ConfFail(v, "ack wait must be a positive value", error);
    } else if (key == "max_ack_pending" || key == "max_pending" || key == "max_inflight") {
      if (!ReadInteger(v, key, &number, error)) return false;
      if (number < 0 || number > 0xffff) {
        return ConfFail(
            v, "invalid value " + std::to_string(number) + ", should in [0..65535] range", error);
      }
      out->max_ack_pending = number == 0 ? 1024 : static_cast<int>(number);  // 0: the default
    } else if (key == "js_domain") {
      if (!ConfString(v, key, &out->js_domain, error)) return false;
    } else if (key == "stream_replicas") {
      if (!ReadInteger(v, key, &number, error)) return false;
      out->stream_replicas = static_cast<int>(number);
    } else if (key == "consumer_replicas") {
      if (!ReadInteger(v, key, &number, error)) return false;
      out->consumer_replicas = static_cast<int>(number);
    } else if (key == "consumer_memory_storage") {
      if (v.type != ConfValue::Type::kBool) {
        return ConfFail(v, "mqtt 'consumer_memory_storage' expects true or false", error);
      }
      out->consumer_memory_storage = v.boolean;
    } else if (key == "consumer_inactive_threshold" || key == "consumer_auto_cleanup") {
      if (!ReadDuration(v, key, &out->consumer_inactive_threshold_ns, warnings, error))
        return false;
    } else {
      return ConfFail(v, "unknown field \"" + key + "\"", error);
    }
  }
  if (!has_port) return true;
  if (tls_block != nullptr) {
    out->tls_context = tls::TlsContext::Create(out->tls, error);
    if (out->tls_context == nullptr) {
      *error = tls_block->Where() + ": mqtt " + *error;
      return false;
    }
  }
  out->enabled = out->port != 0;
  return true;
}

bool ResolveMqtt(const auth::AuthConfig& server_auth, bool has_server_name, bool jetstream,
                 bool clustered, MqttOptions* mqtt, std::string* error) {
  mqtt->auth.effective.reset();
  if (!mqtt->enabled) return true;
  if (!has_server_name) {
    *error = "mqtt requires server name to be explicitly set";
    return false;
  }
  if (!jetstream && !clustered) {
    *error = "mqtt requires JetStream to be enabled if running in standalone mode";
    return false;
  }
  if (mqtt->consumer_replicas > 0 && mqtt->stream_replicas > 0 &&
      mqtt->consumer_replicas > mqtt->stream_replicas) {
    *error = "mqtt: consumer_replicas (" + std::to_string(mqtt->consumer_replicas) +
             ") cannot be higher than stream_replicas (" + std::to_string(mqtt->stream_replicas) +
             ")";
    return false;
  }
  return mqtt->auth.Resolve(server_auth, "mqtt", error);
}

}  // namespace tern::core

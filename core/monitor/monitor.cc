#include "core/monitor/monitor.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/registry.h"
#include "core/time_format.h"

namespace tern::core::monitor {

io::HttpResponse JsonResponse(const nlohmann::ordered_json& body,
                              const std::map<std::string, std::string>& query, int status) {
  std::string text = body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  const auto callback = query.find("callback");
  if (callback != query.end() && !callback->second.empty()) {
    return {status, "application/javascript", callback->second + "(" + text + ")"};
  }
  return {status, "application/json", text};
}

io::HttpResponse BadRequest(const std::string& text) { return {400, "text/plain", text + "\n"}; }

bool QueryInt(const std::map<std::string, std::string>& query, const std::string& key,
              int64_t fallback, int64_t* out, io::HttpResponse* error) {
  const auto it = query.find(key);
  if (it == query.end() || it->second.empty()) {
    *out = fallback;
    return true;
  }
  char* end = nullptr;
  const long long value = std::strtoll(it->second.c_str(), &end, 10);
  if (*end != '\0' || value < 0) {
    *error = BadRequest("invalid value for '" + key + "': \"" + it->second + "\"");
    return false;
  }
  *out = value;
  return true;
}

bool QueryFlag(const std::map<std::string, std::string>& query, const std::string& key) {
  const auto it = query.find(key);
  if (it == query.end()) return false;
  return it->second == "1" || it->second == "true" || it->second == "detail" || it->second.empty();
}

Monitor::Monitor(Sources sources)
    : sources_(std::move(sources)), http_([this](const io::HttpRequest& r) { return Handle(r); }) {}

Monitor::~Monitor() { Stop(); }

bool Monitor::Start(const std::string& host, int port, std::string* error) {
  return http_.Start(host, port, &bound_port_, error);
}

void Monitor::Stop() { http_.Stop(); }

io::HttpResponse Monitor::Handle(const io::HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return {405, "text/plain", "only GET and HEAD\n"};
  }
  std::string path = request.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  ++http_req_stats_[path];
  const Query& q = request.query;
  if (path == "/") return Index();
  if (path == "/varz") return Varz(q);
  if (path == "/connz") return Connz(q);
  if (path == "/subsz" || path == "/subscriptionsz") return Subsz(q);
  if (path == "/routez") return Routez(q);
  if (path == "/leafz") return Leafz(q);
  if (path == "/gatewayz") return Gatewayz(q);
  if (path == "/jsz") return Jsz(q);
  if (path == "/accountz") return Accountz(q);
  if (path == "/healthz") return Healthz(q);
  if (path == "/metrics") return Metrics();
  if (path == "/streaming" || path.starts_with("/streaming/")) return Streaming(path, q);
  --http_req_stats_[path];
  http_req_stats_.erase(path);
  return {404, "text/plain", "404 page not found\n"};
}

io::HttpResponse Monitor::Index() const {
  std::string body =
      "<html><head><title>tern-server monitoring</title></head><body>\n"
      "<h1>tern-server " TERN_VERSION "</h1>\n<ul>\n";
  for (const char* endpoint : {"varz", "connz", "subsz", "routez", "gatewayz", "leafz", "jsz",
                               "accountz", "healthz", "metrics"}) {
    body += std::string("<li><a href=\"./") + endpoint + "\">" + endpoint + "</a></li>\n";
  }
  body += "</ul>\n</body></html>\n";
  return {200, "text/html; charset=utf-8", body};
}

Totals Monitor::SumStats() const { return core::SumStats(*sources_.context); }

double Monitor::CpuPercent() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  const int64_t ticks = utime + stime;
  const int64_t now = MonotonicNs();
  const int64_t since =
      last_cpu_wall_ns_ == 0 ? now - sources_.context->start_mono_ns : now - last_cpu_wall_ns_;
  const int64_t used = last_cpu_wall_ns_ == 0 ? ticks : ticks - last_cpu_ticks_;
  last_cpu_ticks_ = ticks;
  last_cpu_wall_ns_ = now;
  if (since <= 0) return 0;
  const double used_ns =
      static_cast<double>(used) * 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<int64_t>(used_ns / static_cast<double>(since) * 10000.0) / 100.0;
}

io::HttpResponse Monitor::Accountz(const Query& query) {
  const std::shared_ptr<const LiveSettings> settings = sources_.settings();
  const auth::Accounts& accounts = settings->options.auth.accounts;
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(WallClockNs());
  body["system_account"] = accounts[accounts.system].name;
  const auto acc = query.find("acc");
  if (acc == query.end()) {
    auto& names = body["accounts"] = nlohmann::ordered_json::array();
    for (const auth::Account& account : accounts.list) names.push_back(account.name);
    return JsonResponse(body, query);
  }
  const int id = accounts.Find(acc->second);
  if (id < 0) {
    nlohmann::ordered_json error;
    error["error"] = "Account " + acc->second + " does not exist";
    return JsonResponse(error, query, 404);
  }
  const auth::Account& account = accounts[static_cast<auth::AccountId>(id)];
  std::vector<uint64_t> connections;
  SublistFigures figures;
  if (!OnEveryShard<uint64_t>(
          [id](Shard& shard, uint64_t* n) {
            *n = 0;
            for (const Connection* c : shard.clients()) *n += c->account() == id;
          },
          &connections) ||
      !GatherSublist(false, "", &figures, id)) {
    return {503, "text/plain", "a shard loop did not answer in time\n"};
  }
  uint64_t connection_count = 0;
  for (uint64_t n : connections) connection_count += n;
  nlohmann::ordered_json detail;
  detail["account_name"] = account.name;
  detail["update_time"] = Rfc3339Nano(sources_.context->start_unix_ns);
  detail["is_system"] = id == accounts.system;
  detail["expired"] = false;
  detail["complete"] = true;
  bool jetstream = false;
  for (const js::Registry* registry : sources_.registries)
    jetstream |= registry->account_id() == id;
  detail["jetstream_enabled"] = jetstream;
  detail["leafnode_connections"] = 0;
  detail["client_connections"] = connection_count;
  detail["subscriptions"] = figures.count;
  auto kind = [](auth::ExchangeKind k) {
    return k == auth::ExchangeKind::kStream ? "stream" : "service";
  };
  auto& imports = detail["imports"] = nlohmann::ordered_json::array();
  for (const auth::Import& import : account.imports) {
    nlohmann::ordered_json entry;
    entry["subject"] = import.subject;
    entry["type"] = kind(import.kind);
    entry["account"] = import.account;
    entry["local_subject"] = import.to.empty() ? import.subject : import.to;
    entry["share"] = false;
    entry["tracking"] = false;
    entry["invalid"] = false;
    imports.push_back(std::move(entry));
  }
  auto& exports = detail["exports"] = nlohmann::ordered_json::array();
  for (const auth::Export& e : account.exports) {
    nlohmann::ordered_json entry;
    entry["subject"] = e.subject;
    entry["type"] = kind(e.kind);
    if (e.kind == auth::ExchangeKind::kService) entry["response_type"] = e.response_type;
    if (!e.accounts.empty()) entry["approved_accounts"] = e.accounts;
    exports.push_back(std::move(entry));
  }
  nlohmann::ordered_json sublist;
  figures.AppendStats(&sublist);
  detail["sublist_stats"] = sublist;
  body["account_detail"] = detail;
  return JsonResponse(body, query);
}

io::HttpResponse Monitor::Healthz(const Query& query) {
  // Healthy: every shard loop answers, and no stream has a failed (sticky) disk sync.
  std::vector<int> answers;
  std::string problem;
  if (!OnEveryShard<int>([](Shard&, int* v) { *v = 1; }, &answers)) {
    problem = "a shard loop is not responding";
  } else if (const uint64_t failed = FailedStreams(); failed > 0) {
    problem = "JetStream: " + std::to_string(failed) +
              " stream(s) cannot write to the store (disk full or failing)";
  } else if (sources_.context->run_state() == RunState::kStopping) {
    problem = "server is shutting down";
  }
  nlohmann::ordered_json body;
  if (problem.empty()) {
    body["status"] = "ok";
    return JsonResponse(body, query);
  }
  body["status"] = "unavailable";
  body["error"] = problem;
  return JsonResponse(body, query, 503);
}

}  // namespace tern::core::monitor

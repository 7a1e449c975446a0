#include "fatectl/kube/client.h"

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/version.h"

namespace fatectl::kube {

/// What one attempt read and why it stopped: body and header limits, the low-speed check.
struct Transfer {
  enum class Stop { None, TooBig, TooSlow, HeadersTooBig };
  std::string* body = nullptr;
  uint64_t max_bytes = kMaxObjectBytes;
  uint64_t low_speed_bytes = 0;
  std::chrono::seconds low_speed_window{10};
  std::string retry_after;
  std::string content_type;
  uint64_t header_bytes = 0;
  uint64_t body_bytes = 0;
  Stop stop = Stop::None;
  bool started = false;  // the first header line arrived: the low-speed windows run from here
  std::chrono::steady_clock::time_point window_start;
  uint64_t window_mark = 0;  // bytes seen when the current window started
  uint64_t slow_bytes = 0;   // what the failing window got
  CURLcode rc = CURLE_OK;
  std::string err;
  uint64_t seen() const { return header_bytes + body_bytes; }
};

namespace {

constexpr uint64_t kMaxHeaderBytes = 256 * 1024;

size_t write_body(char* p, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = sz * n;
  if (len > t->max_bytes - t->body->size()) {  // body->size() <= max_bytes always
    t->stop = Transfer::Stop::TooBig;
    return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
  }
  t->body->append(p, len);
  t->body_bytes += len;
  return len;
}

size_t write_header(char* p, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = sz * n;
  t->header_bytes += len;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->stop = Transfer::Stop::HeadersTooBig;
    return 0;
  }
  if (!t->started) {
    t->started = true;
    t->window_start = std::chrono::steady_clock::now();
    t->window_mark = 0;
  }
  std::string_view line(p, len);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string k(line.substr(0, colon));
    for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    if (k == "retry-after") t->retry_after = std::string(v.substr(0, 64));
    if (k == "content-type") t->content_type = std::string(v.substr(0, 256));
  }
  return len;
}

// Called by libcurl about once a second and whenever data moves: the low-speed check.
int on_progress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(ud);
  if (!t->started || t->low_speed_bytes == 0) return 0;
  auto now = std::chrono::steady_clock::now();
  if (now - t->window_start < t->low_speed_window) return 0;
  uint64_t got = t->seen() - t->window_mark;
  if (got < t->low_speed_bytes) {
    t->stop = Transfer::Stop::TooSlow;
    t->slow_bytes = got;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  t->window_start = now;
  t->window_mark = t->seen();
  return 0;
}

std::string human_bytes(uint64_t n) {
  if (n >= kMiB && n % kMiB == 0) return std::to_string(n / kMiB) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

// "GET /api/v1/namespaces/x/secrets" (the query left out: continue tokens can be long).
std::string request_line(const Request& r) {
  std::string p = r.path.substr(0, r.path.find('?'));
  if (p.size() > 160) p = p.substr(0, 160) + "...";
  return r.method + " " + p;
}

// Retry-After in seconds (RFC 9110 delay-seconds); -1 when absent or an HTTP-date. Huge values
// saturate instead of overflowing.
long long retry_after_seconds(const std::string& v) {
  if (v.empty()) return -1;
  long long s = 0;
  for (char ch : v) {
    if (ch < '0' || ch > '9') return -1;
    if (s < 1'000'000'000'000LL) s = s * 10 + (ch - '0');
  }
  return s;
}

bool transient_curl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool transient_status(long s) { return s == 429 || (s >= 500 && s <= 599 && s != 501); }

double jitter(double max_s) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> d(0.0, max_s);
  return d(rng);
}

std::string trim_server_path(const std::string& server, std::string& host, std::string& port) {
  std::string rest = server.substr(server.find("://") + 3);
  std::string hostport = rest.substr(0, rest.find('/'));
  std::string prefix = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/'));
  bool https = server.rfind("https://", 0) == 0;
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    host = hostport.substr(0, close + 1);
    port = close + 1 < hostport.size() && hostport[close + 1] == ':' ? hostport.substr(close + 2) : "";
  } else {
    auto c = hostport.rfind(':');
    host = c == std::string::npos ? hostport : hostport.substr(0, c);
    port = c == std::string::npos ? "" : hostport.substr(c + 1);
  }
  if (port.empty()) port = https ? "443" : "80";
  return prefix;
}

}  // namespace

// ---- Response ---------------------------------------------------------------------------

namespace {
void put_utf8(std::string& o, uint32_t cp) {
  if (cp < 0x80) o += static_cast<char>(cp);
  else if (cp < 0x800) {
    o += static_cast<char>(0xc0 | (cp >> 6));
    o += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    o += static_cast<char>(0xe0 | (cp >> 12));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    o += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    o += static_cast<char>(0xf0 | (cp >> 18));
    o += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    o += static_cast<char>(0x80 | (cp & 0x3f));
  }
}
int hex4(std::string_view t, size_t at) {
  if (at + 4 > t.size()) return -1;
  int v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char ch = t[i];
    v <<= 4;
    if (ch >= '0' && ch <= '9') v |= ch - '0';
    else if (ch >= 'a' && ch <= 'f') v |= ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') v |= ch - 'A' + 10;
    else return -1;
  }
  return v;
}
}  // namespace

namespace {

/// A read-only istream buffer over text that is already in memory (no copy for yaml-cpp).
struct ViewBuf : std::streambuf {
  explicit ViewBuf(std::string_view v) {
    char* p = const_cast<char*>(v.data());
    setg(p, p, p + v.size());
  }
};

YAML::Node load_view(std::string_view text, const std::string& name) {
  ViewBuf buf(text);
  std::istream in(&buf);
  try {
    return YAML::Load(in);
  } catch (const YAML::Exception& e) {
    Location l{name, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    throw invalid_at(l, "", e.msg);
  }
}

}  // namespace

uint64_t json_values(std::string_view t, uint64_t stop_after) {
  uint64_t n = 0;
  bool in_str = false, in_scalar = false;
  for (size_t i = 0; i < t.size(); ++i) {
    char ch = t[i];
    if (in_str) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_str = false;
      continue;
    }
    switch (ch) {
      case '"':
        in_str = true;
        in_scalar = false;
        ++n;
        break;
      case '{':
      case '[':
        in_scalar = false;
        ++n;
        break;
      case '}':
      case ']':
      case ',':
      case ':':
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        in_scalar = false;
        break;
      default:
        if (!in_scalar) ++n;
        in_scalar = true;
    }
    if (n > stop_after) return n;
  }
  return n;
}

YAML::Node parse_json(std::string_view text, const std::string& name, uint64_t max_values) {
  if (max_values != UINT64_MAX && json_values(text, max_values) > max_values)
    throw ResponseTooLarge(name + " holds more than " + std::to_string(max_values) +
                           " JSON values, the most fatectl parses from one document");
  // yaml-cpp reads JSON, except UTF-16 surrogate pairs (\ud83d\ude00) and "\/": decode those here.
  if (text.find("\\u") == std::string_view::npos && text.find("\\/") == std::string_view::npos)
    return load_view(text, name);
  std::string o;
  o.reserve(text.size());
  bool in_str = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (!in_str) {
      if (ch == '"') in_str = true;
      o += ch;
      continue;
    }
    if (ch == '"') {
      in_str = false;
      o += ch;
      continue;
    }
    if (ch != '\\' || i + 1 >= text.size()) {
      o += ch;
      continue;
    }
    char nx = text[i + 1];
    if (nx == '/') {
      o += '/';
      ++i;
      continue;
    }
    if (nx == 'u') {
      int hi = hex4(text, i + 2);
      if (hi >= 0xd800 && hi <= 0xdbff) {
        int lo = (i + 7 < text.size() && text[i + 6] == '\\' && text[i + 7] == 'u') ? hex4(text, i + 8) : -1;
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          put_utf8(o, 0x10000 + ((static_cast<uint32_t>(hi) - 0xd800) << 10) + (static_cast<uint32_t>(lo) - 0xdc00));
          i += 11;
        } else {
          put_utf8(o, 0xfffd);
          i += 5;
        }
        continue;
      }
      if (hi >= 0xdc00 && hi <= 0xdfff) {
        put_utf8(o, 0xfffd);
        i += 5;
        continue;
      }
    }
    o += ch;
    o += nx;
    ++i;
  }
  return load_view(o, name);
}

YAML::Node Response::json() const {
  if (body.empty()) return YAML::Node();
  if (json_values(body, kMaxJsonValues) > kMaxJsonValues)
    throw ResponseTooLarge("the API server sent more than " + std::to_string(kMaxJsonValues) + " JSON values for " +
                           (what.empty() ? std::string("one response") : what) +
                           "; fatectl parses at most that many from one response");
  return parse_json(body, "API server response", UINT64_MAX);
}

std::string Response::message() const {
  if (!body.empty() && (body[0] == '{')) {
    try {
      YAML::Node n = json();
      if (n["message"] && n["message"].IsScalar()) return n["message"].Scalar();
    } catch (const Error&) {
    }
  }
  std::string b = body.substr(0, 200);
  while (!b.empty() && (b.back() == '\n' || b.back() == ' ')) b.pop_back();
  return "HTTP " + std::to_string(status) + (b.empty() ? "" : ": " + b);
}

std::string Response::reason() const {
  if (!body.empty() && body[0] == '{') {
    try {
      YAML::Node n = json();
      if (n["reason"] && n["reason"].IsScalar()) return n["reason"].Scalar();
    } catch (const Error&) {
    }
  }
  return "";
}

// ---- Client -----------------------------------------------------------------------------

Client::Client(Config cfg, ClientOptions opts) : cfg_(std::move(cfg)), opts_(opts) {
  if (cfg_.server.find("://") != std::string::npos) trim_server_path(cfg_.server, host_, port_);
  if (!cfg_.tls_server_name.empty())
    connect_to_ = curl_slist_append(nullptr, (cfg_.tls_server_name + ":" + port_ + ":" + host_ + ":" + port_).c_str());
}

Client::~Client() {
  for (CURL* h : free_) curl_easy_cleanup(h);
  if (connect_to_) curl_slist_free_all(connect_to_);
}

CURL* Client::acquire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!free_.empty()) {
      CURL* h = free_.back();
      free_.pop_back();
      curl_easy_reset(h);  // keeps live connections, DNS and TLS session caches
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (!h) throw failed("libcurl: cannot create a handle");
  return h;
}

void Client::release(CURL* h) {
  std::lock_guard<std::mutex> l(mu_);
  free_.push_back(h);
}

std::string Client::url(const std::string& path) const { return cfg_.server + path; }

std::string Client::connect_url() const {
  std::string scheme = cfg_.server.substr(0, cfg_.server.find("://"));
  std::string host = cfg_.tls_server_name.empty() ? host_ : cfg_.tls_server_name;
  return scheme + "://" + host + ":" + port_ + "/";
}

void Client::setup_connection(CURL* h, bool tunnel_proxy) {
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, opts_.connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, (std::string("fatectl/") + kVersion).c_str());
  if (!cfg_.ca_data.empty()) {
    curl_blob b{const_cast<char*>(cfg_.ca_data.data()), cfg_.ca_data.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    curl_easy_setopt(h, CURLOPT_CAINFO, nullptr);  // trust only the kubeconfig's CA, as kubectl does
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
  }
  if (cfg_.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!cfg_.tls_server_name.empty()) {
    // Connect to the server's host but send SNI and verify the certificate for tls-server-name.
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to_);
  }
  if (!cfg_.proxy_url.empty()) {
    curl_easy_setopt(h, CURLOPT_PROXY, cfg_.proxy_url.c_str());
    if (tunnel_proxy) curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_PROXY, "");  // kubectl honours proxy-url only, not *_proxy (HTTPS_PROXY is, via Go)
  }
  std::string cert = cfg_.client_cert_data, key = cfg_.client_key_data;
  if (cfg_.exec) {
    ExecCredential ec = creds_.get(*cfg_.exec, cfg_.context);
    if (!ec.client_cert_data.empty()) {
      cert = ec.client_cert_data;
      key = ec.client_key_data;
    }
  }
  if (!cert.empty()) {
    curl_blob cb{cert.data(), cert.size(), CURL_BLOB_COPY};
    curl_blob kb{key.data(), key.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
}

std::string Client::authorization(bool refresh) {
  if (cfg_.exec) {
    ExecCredential ec = creds_.get(*cfg_.exec, cfg_.context, refresh);
    if (!ec.token.empty()) return "Bearer " + ec.token;
  }
  if (!cfg_.token.empty()) return "Bearer " + cfg_.token;
  if (!cfg_.token_file.empty()) {
    std::string t;
    try {
      t = yaml::read_file(cfg_.token_file);
    } catch (const Error&) {
      throw invalid("context '" + cfg_.context + "': field 'tokenFile': cannot read '" + cfg_.token_file + "'");
    }
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    log::add_secret(t);
    return "Bearer " + t;
  }
  if (!cfg_.username.empty()) {
    std::string b = "Basic " + base64_encode(cfg_.username + ":" + cfg_.password);
    log::add_secret(b.substr(6));
    return b;
  }
  return "";
}

Response Client::perform_once(CURL* h, const Request& r, const std::string& auth, const Deadline::Window& w,
                              Transfer& t) {
  Response resp;
  resp.what = r.what;
  t.body = &resp.body;
  t.max_bytes = r.max_bytes;
  t.low_speed_bytes = opts_.low_speed_bytes;
  t.low_speed_window = std::chrono::seconds(std::max(1L, opts_.low_speed_window_s));
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string u = url(r.path);
  if (!cfg_.tls_server_name.empty()) {
    // The URL names tls-server-name; CONNECT_TO maps it onto the real host.
    std::string scheme = cfg_.server.substr(0, cfg_.server.find("://") + 3);
    std::string rest = cfg_.server.substr(scheme.size());
    std::string prefix = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/'));
    u = scheme + cfg_.tls_server_name + ":" + port_ + prefix + r.path;
  }
  setup_connection(h);
  curl_easy_setopt(h, CURLOPT_URL, u.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  // The whole attempt (connect, TLS, request, response) ends by the window; connect + TLS sooner.
  long long left = w.bounded() ? std::max(1LL, w.left_ms()) : 0;
  long long connect_ms = opts_.connect_timeout_s * 1000LL;
  if (left > 0) connect_ms = std::min(connect_ms, left);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  // A declared Content-Length over the limit ends the request before the body is read; bodies
  // without one (chunked, compressed) are counted by write_body after decompression.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_bytes));
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Accept: " + r.accept).c_str());
  if (!auth.empty()) headers = curl_slist_append(headers, ("Authorization: " + auth).c_str());
  if (r.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (!r.body.empty() || r.method == "POST" || r.method == "PATCH" || r.method == "PUT") {
      std::string ct = r.content_type.empty() ? "application/json" : r.content_type;
      headers = curl_slist_append(headers, ("Content-Type: " + ct).c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    if (r.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  t.rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  if (t.rc != CURLE_OK) {
    t.err = errbuf[0] ? errbuf : curl_easy_strerror(t.rc);
    resp.body.clear();
    resp.body.shrink_to_fit();
    return resp;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  resp.retry_after = t.retry_after;
  resp.content_type = t.content_type;
  return resp;
}

Response Client::send(const Request& r) {
  using Clock = std::chrono::steady_clock;
  CURL* h = acquire();
  struct Releaser {
    Client* c;
    CURL* h;
    ~Releaser() { c->release(h); }
  } releaser{this, h};
  bool refreshed = false;
  double backoff = opts_.backoff_base_s;
  auto started = Clock::now();
  Deadline::Window w = request_window();
  if (r.timeout_s > 0 && started + std::chrono::seconds(r.timeout_s) < w.end) {
    w.end = started + std::chrono::seconds(r.timeout_s);
    w.flag = "its own limit of " + std::to_string(r.timeout_s) + "s";
  }
  const std::string line = request_line(r);
  const std::string what = r.what.empty() ? line : r.what + " (" + line + ")";
  auto elapsed = [&] {
    return Deadline::describe(std::chrono::duration_cast<Deadline::Ms>(Clock::now() - started));
  };
  auto limit_note = [&] { return w.flag.empty() ? std::string() : "; limit: " + w.flag; };
  // Waits `d` seconds before the next attempt when that leaves time for it; false otherwise.
  auto wait_fits = [&](double d) {
    d = std::min(d, static_cast<double>(Deadline::kMaxBudget.count()) / 1000);  // no overflow below
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(d));
    if (w.bounded() && until + std::chrono::milliseconds(100) >= w.end) return false;
    std::this_thread::sleep_until(until);
    return true;
  };
  for (int attempt = 1;; ++attempt) {
    if (w.bounded() && w.left_ms() <= 0)
      throw timed_out("no time left for " + line + " on " + cfg_.server + " (" + w.flag + " has passed)");
    std::string auth = authorization();
    Transfer t;
    ++stats_.requests;
    auto t0 = Clock::now();
    Response resp = perform_once(h, r, auth, w, t);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    if (t.rc != CURLE_OK) {
      log::trace("HTTP {} {} -> {} ({} ms)", r.method, r.path, t.err, ms);
      if (t.stop == Transfer::Stop::TooBig || t.rc == CURLE_FILESIZE_EXCEEDED)
        throw ResponseTooLarge("the API server sent more than " + human_bytes(r.max_bytes) + " for " + what +
                               "; fatectl reads at most that much for one response");
      if (t.stop == Transfer::Stop::HeadersTooBig)
        throw BadAnswer("the API server sent more than " + human_bytes(kMaxHeaderBytes) + " of headers for " + what);
      if (t.stop == Transfer::Stop::TooSlow)
        throw BadAnswer("the API server " + cfg_.server + " sent only " + human_bytes(t.slow_bytes) + " in " +
                          std::to_string(opts_.low_speed_window_s) + " s while answering " + line +
                          " (fatectl gives up below " + human_bytes(opts_.low_speed_bytes) + " per " +
                          std::to_string(opts_.low_speed_window_s) + " s: a broken proxy or an overloaded server?)");
      if (t.rc == CURLE_OPERATION_TIMEDOUT && w.bounded() && Clock::now() + std::chrono::milliseconds(100) >= w.end) {
        if (t.seen() == 0)
          throw timed_out("no answer from " + cfg_.server + " in " + elapsed() + " (request " + line + limit_note() + ")");
        throw timed_out("the API server " + cfg_.server + " did not finish answering " + line + " in " + elapsed() +
                        " (" + human_bytes(t.seen()) + " received" + limit_note() + ")");
      }
      if (r.retry && transient_curl(t.rc) && attempt < opts_.max_attempts) {
        double d = jitter(backoff);
        backoff = std::min(backoff * 2, opts_.backoff_cap_s);
        log::debug("{} {}: {}; retrying in {:.1f}s (attempt {}/{})", r.method, r.path, t.err, d, attempt + 1,
                   opts_.max_attempts);
        if (wait_fits(d)) {
          ++stats_.retries;
          continue;
        }
      }
      std::string msg = "cannot reach the API server " + cfg_.server + " (context '" + cfg_.context + "'): " + t.err;
      if (t.rc == CURLE_PEER_FAILED_VERIFICATION || t.rc == CURLE_SSL_CACERT_BADFILE)
        msg += " — check the cluster's certificate-authority(-data) or tls-server-name in " + cfg_.source;
      if (attempt > 1) msg += " (after " + std::to_string(attempt) + " attempts)";
      throw unreachable(msg);
    }
    log::trace("HTTP {} {} -> {} ({} ms)", r.method, r.path, resp.status, ms);
    if (resp.status == 401 && cfg_.exec && !refreshed) {
      // The cached exec credential may have been revoked early: run the plugin once more.
      refreshed = true;
      authorization(true);
      continue;
    }
    if (r.retry && transient_status(resp.status) && attempt < opts_.max_attempts) {
      double d = jitter(backoff);
      backoff = std::min(backoff * 2, opts_.backoff_cap_s);
      long long ra = resp.status == 429 ? retry_after_seconds(resp.retry_after) : -1;
      if (ra >= 0) {
        // Honoured, but only within the time left: asking for more ends the command now.
        if (w.bounded() && ra * 1000 + 100 >= w.left_ms())  // ra < 1e13: no overflow
          throw timed_out("the API server answered " + line + " with 429 Too Many Requests and asked to retry after " +
                          std::to_string(ra) + " s, but only " +
                          Deadline::describe(Deadline::Ms(w.left_ms())) + " are left (limit: " + w.flag + ")");
        d = static_cast<double>(ra) + jitter(0.1);
      }
      log::debug("{} {}: HTTP {}; retrying in {:.1f}s (attempt {}/{})", r.method, r.path, resp.status, d,
                 attempt + 1, opts_.max_attempts);
      if (wait_fits(d)) {
        ++stats_.retries;
        continue;
      }
      resp.retry_after = "after " + std::to_string(attempt) + " attempts; no time left for another within " + w.flag;
      return resp;
    }
    if (transient_status(resp.status) && attempt > 1)
      resp.retry_after = "after " + std::to_string(attempt) + " attempts";  // noted for api_error
    return resp;
  }
}

YAML::Node Client::get_json(const std::string& path) {
  Response r = send(Request::get(path));
  if (!r.ok()) throw api_error(*this, r, "get", path);
  return r.json();
}

ServerVersion Client::version() {
  {
    std::lock_guard<std::mutex> l(disc_mu_);
    if (version_) return *version_;
  }
  YAML::Node v = get_json("/version");
  ServerVersion sv;
  auto digits = [](const YAML::Node& n) {
    std::string s = n && n.IsScalar() ? n.Scalar() : "";
    std::string d;
    for (char ch : s)
      if (std::isdigit(static_cast<unsigned char>(ch))) d += ch;
      else break;
    return d.empty() ? 0 : std::stoi(d);
  };
  sv.major = digits(v["major"]);
  sv.minor = digits(v["minor"]);
  sv.git_version = v["gitVersion"] ? v["gitVersion"].Scalar() : "";
  if (sv.major == 0 && !sv.git_version.empty()) {
    std::sscanf(sv.git_version.c_str(), "v%d.%d", &sv.major, &sv.minor);
  }
  std::lock_guard<std::mutex> l(disc_mu_);
  version_ = std::make_unique<ServerVersion>(sv);
  return sv;
}

ResourceInfo Client::resource_for(const std::string& api_version, const std::string& kind) {
  std::string group, gv_version;
  auto slash = api_version.find('/');
  if (slash == std::string::npos) gv_version = api_version;
  else {
    group = api_version.substr(0, slash);
    gv_version = api_version.substr(slash + 1);
  }
  std::vector<ResourceInfo> list;
  {
    std::lock_guard<std::mutex> l(disc_mu_);
    auto it = discovered_.find(api_version);
    if (it != discovered_.end()) list = it->second;
  }
  if (list.empty()) {
    std::string path = group.empty() ? "/api/" + gv_version : "/apis/" + group + "/" + gv_version;
    Request req = Request::get(path);
    req.what = "the discovery of " + api_version;
    Response r = send(req);
    if (r.status == 404)
      throw failed("the API server does not serve " + api_version + " (needed for kind " + kind +
                   "); server version " + version().git_version);
    if (!r.ok()) throw api_error(*this, r, "discover", api_version);
    YAML::Node n = r.json();
    for (const auto& res : n["resources"]) {
      std::string name = res["name"].Scalar();
      if (name.find('/') != std::string::npos) continue;  // subresources
      ResourceInfo ri;
      ri.group = group;
      ri.version = gv_version;
      ri.resource = name;
      ri.kind = res["kind"].Scalar();
      ri.namespaced = res["namespaced"] && res["namespaced"].Scalar() == "true";
      list.push_back(ri);
    }
    std::lock_guard<std::mutex> l(disc_mu_);
    discovered_[api_version] = list;
  }
  for (const auto& ri : list)
    if (ri.kind == kind) return ri;
  throw failed("the API server does not serve kind " + kind + " in " + api_version);
}

// ---- helpers ----------------------------------------------------------------------------

std::string url_escape(const std::string& s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string o;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') o += static_cast<char>(c);
    else {
      o += '%';
      o += hex[c >> 4];
      o += hex[c & 15];
    }
  }
  return o;
}

Error api_error(const Client& c, const Response& r, const std::string& verb, const std::string& what) {
  std::string msg = r.message();
  const Config& cfg = c.config();
  if (r.status == 401)
    return unreachable("the API server " + cfg.server + " did not accept the credentials of " + cfg.identity() +
                       " (401 Unauthorized) when trying to " + verb + " " + what +
                       " — the token or certificate may be expired; log in again");
  if (r.status == 403)
    return unreachable(cfg.identity() + " is not allowed to " + verb + " " + what + " (403 Forbidden): " + msg);
  std::string tail = r.retry_after.rfind("after ", 0) == 0 ? " (" + r.retry_after + ")" : "";
  if (r.status == 429 || r.status >= 500)
    return failed("cannot " + verb + " " + what + ": the API server kept failing: " + msg + tail);
  return failed("cannot " + verb + " " + what + ": " + msg);
}

}  // namespace fatectl::kube

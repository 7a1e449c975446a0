#include "fatectl/kube/exec.h"

#include "fatectl/kube/api.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>

#include <cstring>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/version.h"

namespace fatectl::kube {
namespace ws {

std::string encode(uint8_t opcode, std::string_view payload, const uint8_t* mask, bool fin) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | (opcode & 0x0f));
  uint8_t m = mask ? 0x80 : 0;
  size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(m | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(m | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
  }
  if (mask) {
    f.append(reinterpret_cast<const char*>(mask), 4);
    size_t start = f.size();
    f.append(payload);
    for (size_t i = 0; i < n; ++i) f[start + i] = static_cast<char>(f[start + i] ^ mask[i % 4]);
  } else {
    f.append(payload);
  }
  return f;
}

bool Decoder::next(Frame& out) {
  if (buf_.size() < 2) return false;
  auto b = [&](size_t i) { return static_cast<uint8_t>(buf_[i]); };
  bool masked = b(1) & 0x80;
  uint64_t n = b(1) & 0x7f;
  size_t pos = 2;
  if (n == 126) {
    if (buf_.size() < 4) return false;
    n = (uint64_t(b(2)) << 8) | b(3);
    pos = 4;
  } else if (n == 127) {
    if (buf_.size() < 10) return false;
    n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | b(2 + i);
    pos = 10;
  }
  if (n > kMaxFrameBytes)
    throw ResponseTooLarge("the API server sent a WebSocket frame of " + std::to_string(n) + " bytes; fatectl accepts at most " +
                           std::to_string(kMaxFrameBytes / kMiB) + " MiB per frame");
  uint8_t key[4] = {0, 0, 0, 0};
  if (masked) {
    if (buf_.size() < pos + 4) return false;
    for (int i = 0; i < 4; ++i) key[i] = b(pos + i);
    pos += 4;
  }
  if (buf_.size() < pos + n) return false;
  out.fin = b(0) & 0x80;
  out.opcode = b(0) & 0x0f;
  out.payload.assign(buf_, pos, n);
  if (masked)
    for (size_t i = 0; i < n; ++i) out.payload[i] = static_cast<char>(out.payload[i] ^ key[i % 4]);
  buf_.erase(0, pos + n);
  return true;
}

std::string accept_for(const std::string& key) {
  std::string s = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char h[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), h);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(h), sizeof h));
}

}  // namespace ws

namespace {

using Clock = std::chrono::steady_clock;

/// The CONNECT_ONLY connection: send and receive raw bytes with a deadline.
class Conn {
 public:
  Conn(CURL* h, Deadline::Window w, std::string what) : h_(h), w_(std::move(w)), what_(std::move(what)) {
    curl_easy_getinfo(h_, CURLINFO_ACTIVESOCKET, &sock_);
  }
  /// Until the 101 answer: the request's own (shorter) window applies too.
  void limit(const Deadline::Window& w) {
    if (w.end < w_.end) w_ = w;
  }
  void unlimit(const Deadline::Window& w) { w_ = w; }
  void send_all(std::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      size_t sent = 0;
      CURLcode rc = curl_easy_send(h_, data.data() + off, data.size() - off, &sent);
      if (rc == CURLE_AGAIN) {
        wait(POLLOUT);
        continue;
      }
      if (rc != CURLE_OK) throw unreachable(what_ + ": connection lost while sending: " + curl_easy_strerror(rc));
      off += sent;
    }
  }
  /// Appends what is available (waiting up to the deadline); false at end of stream.
  bool recv_some(std::string& into) {
    char buf[16384];
    check_deadline();  // a server that never pauses must not outlive the deadline either
    for (;;) {
      size_t n = 0;
      CURLcode rc = curl_easy_recv(h_, buf, sizeof buf, &n);
      if (rc == CURLE_AGAIN) {
        wait(POLLIN);
        continue;
      }
      if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
        return false;  // peer closed (TLS close_notify missing is common) or reset
      }
      if (rc != CURLE_OK) throw unreachable(what_ + ": connection lost: " + curl_easy_strerror(rc));
      if (n == 0) return false;
      into.append(buf, n);
      return true;
    }
  }

 private:
  void check_deadline() const {
    if (w_.bounded() && Clock::now() >= w_.end)
      throw timed_out(what_ + ": did not finish within " + Deadline::describe(Deadline::Ms(w_.total)) + " (" +
                      w_.flag + ")");
  }
  void wait(short events) {
    check_deadline();
    long long left = w_.left_ms();
    pollfd p{static_cast<int>(sock_), events, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) throw failed(what_ + ": poll: " + std::strerror(errno));
  }
  CURL* h_;
  curl_socket_t sock_ = CURL_SOCKET_BAD;
  Deadline::Window w_;
  std::string what_;
};

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1)
    throw failed("OpenSSL RAND_bytes failed");
  return s;
}

std::string client_frame(uint8_t opcode, std::string_view payload) {
  std::string key = random_bytes(4);
  return ws::encode(opcode, payload, reinterpret_cast<const uint8_t*>(key.data()));
}

std::string header_value(const std::string& head, const std::string& name) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < k.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(k[i])) != std::tolower(static_cast<unsigned char>(name[i]))) eq = false;
    if (!eq) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
    return v;
  }
  return "";
}

struct CurlHandle {
  CURL* h = curl_easy_init();
  ~CurlHandle() {
    if (h) curl_easy_cleanup(h);
  }
};

}  // namespace

ExecResult exec(Client& c, const std::string& ns, const std::string& pod, const std::vector<std::string>& command,
                const ExecOptions& opts) {
  if (command.empty()) throw invalid("exec: empty command");
  const Config& cfg = c.config();
  std::string what = "exec into pod '" + pod + "' in namespace '" + ns + "'";
  // The whole exec ends by its own timeout or the command's deadline; until the 101 answer the
  // request window (--request-timeout) applies too.
  Deadline::Window stream_w = c.deadline().stream(opts.timeout, "the exec timeout");
  Deadline::Window upgrade_w = c.request_window();
  if (stream_w.end < upgrade_w.end) upgrade_w = stream_w;

  std::string query;
  for (const auto& a : command) query += (query.empty() ? "" : "&") + std::string("command=") + url_escape(a);
  if (!opts.container.empty()) query += "&container=" + url_escape(opts.container);
  if (opts.stdin_data) query += "&stdin=true";
  query += "&stdout=true&stderr=true";
  std::string prefix;
  {
    std::string rest = cfg.server.substr(cfg.server.find("://") + 3);
    if (rest.find('/') != std::string::npos) prefix = rest.substr(rest.find('/'));
  }
  std::string path = prefix + "/api/v1/namespaces/" + url_escape(ns) + "/pods/" + url_escape(pod) + "/exec?" + query;

  CurlHandle ch;
  if (!ch.h) throw failed("libcurl: cannot create a handle");
  char errbuf[CURL_ERROR_SIZE] = {0};
  c.setup_connection(ch.h, /*tunnel_proxy=*/true);
  std::string url = c.connect_url();
  curl_easy_setopt(ch.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(ch.h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(ch.h, CURLOPT_ERRORBUFFER, errbuf);
  long long left_ms = upgrade_w.bounded() ? std::max(1LL, upgrade_w.left_ms()) : 0;
  if (upgrade_w.bounded() && upgrade_w.left_ms() <= 0)
    throw timed_out(what + ": no time left (" + upgrade_w.flag + " has passed)");
  curl_easy_setopt(ch.h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left_ms == 0 ? 30'000 : std::min(left_ms, 30'000LL)));
  curl_easy_setopt(ch.h, CURLOPT_TIMEOUT_MS, static_cast<long>(left_ms));
  CURLcode rc = curl_easy_perform(ch.h);
  if (rc == CURLE_OPERATION_TIMEDOUT && upgrade_w.bounded() && upgrade_w.left_ms() <= 100)
    throw timed_out(what + ": no answer from " + cfg.server + " in " + Deadline::describe(upgrade_w.total) + " (limit: " +
                    upgrade_w.flag + ")");
  if (rc != CURLE_OK)
    throw unreachable(what + ": cannot connect to " + cfg.server + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));

  Conn conn(ch.h, upgrade_w, what);
  std::string key = base64_encode(random_bytes(16));
  std::string host = url.substr(url.find("://") + 3);
  host.pop_back();  // trailing '/'
  std::string protos;
  for (const auto& p : opts.protocols) protos += (protos.empty() ? "" : ", ") + p;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + protos +
                    "\r\nUser-Agent: fatectl/" + kVersion + "\r\n";
  std::string auth = c.authorization();
  if (!auth.empty()) req += "Authorization: " + auth + "\r\n";
  req += "\r\n";
  log::trace("HTTP GET {} (WebSocket upgrade, offering {})", path, protos);
  conn.send_all(req);

  // Read the response head (the first frames may arrive in the same read).
  constexpr size_t kMaxHead = 64 * 1024;
  std::string buf;
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!conn.recv_some(buf)) throw unreachable(what + ": the API server closed the connection during the upgrade");
    if (buf.size() > kMaxHead)
      throw BadAnswer(what + ": the API server sent more than 64 KiB of response head for the upgrade");
  }
  std::string head = buf.substr(0, head_end + 2);
  buf.erase(0, head_end + 4);
  long status = 0;
  std::sscanf(head.c_str(), "HTTP/%*s %ld", &status);
  if (status != 101) {
    Response r;
    r.status = status;
    // The error body (a Status) is short: read what Content-Length says, at most 64 KiB.
    std::string cl = header_value(head, "Content-Length");
    size_t want = kMaxHead;
    if (!cl.empty() && cl.size() < 7 && cl.find_first_not_of("0123456789") == std::string::npos)
      want = std::min<size_t>(kMaxHead, std::stoul(cl));
    try {
      while (buf.size() < want && conn.recv_some(buf)) {
      }
    } catch (const Error&) {
    }
    r.body = buf.substr(0, kMaxHead);
    throw api_error(c, r, "exec into", "pod '" + pod + "' in namespace '" + ns + "'");
  }
  conn.unlimit(stream_w);
  if (header_value(head, "Sec-WebSocket-Accept") != ws::accept_for(key))
    throw failed(what + ": the server's Sec-WebSocket-Accept does not match our key");
  ExecResult res;
  res.protocol = header_value(head, "Sec-WebSocket-Protocol");
  bool v5 = res.protocol == "v5.channel.k8s.io";
  if (res.protocol != "v5.channel.k8s.io" && res.protocol != "v4.channel.k8s.io")
    throw failed(what + ": the server did not agree to a channel subprotocol (offered " + protos + ", got '" +
                 res.protocol + "')");
  log::debug("{}: WebSocket open with {}", what, res.protocol);

  if (opts.stdin_data) {
    const std::string& in = *opts.stdin_data;
    for (size_t off = 0; off < in.size(); off += 32768) {
      std::string payload(1, '\0');
      payload.append(in, off, 32768);
      conn.send_all(client_frame(2, payload));
    }
    if (v5) conn.send_all(client_frame(2, std::string("\xff\x00", 2)));  // close stdin
  }

  ws::Decoder dec;
  dec.feed(buf);
  std::string status_json;
  std::string message;  // a fragmented message being assembled
  uint8_t message_op = 0;
  bool closed = false;
  uint64_t collected = 0;
  auto keep = [&](std::string& into, std::string_view data, const char* name) {
    collected += data.size();
    if (collected > opts.max_output)
      throw ResponseTooLarge(what + ": the command wrote more than " + std::to_string(opts.max_output / kMiB) +
                             " MiB of output (" + name + "), the most fatectl keeps from it; stopped reading");
    into.append(data);
  };
  auto deliver = [&](const std::string& m) {
    if (m.empty()) return;
    unsigned char ch = static_cast<unsigned char>(m[0]);
    std::string_view data(m.data() + 1, m.size() - 1);
    if (ch == 1) {
      if (opts.on_stdout) opts.on_stdout(data);
      else keep(res.stdout_data, data, "stdout");
    } else if (ch == 2) {
      if (opts.on_stderr) opts.on_stderr(data);
      else keep(res.stderr_data, data, "stderr");
    } else if (ch == 3) {
      if (status_json.size() + data.size() > 64 * 1024)
        throw BadAnswer(what + ": the API server sent more than 64 KiB of exit status");
      status_json.append(data);
    }
  };
  while (!closed) {
    ws::Frame f;
    while (!closed && dec.next(f)) {
      switch (f.opcode) {
        case 0:
          if (message.size() + f.payload.size() > ws::kMaxFrameBytes)
            throw ResponseTooLarge(what + ": the API server sent a fragmented WebSocket message over " +
                                   std::to_string(ws::kMaxFrameBytes / kMiB) + " MiB");
          message += f.payload;
          if (f.fin) {
            if (message_op == 1 || message_op == 2) deliver(message);
            message.clear();
          }
          break;
        case 1:
        case 2:
          if (f.fin) deliver(f.payload);
          else {
            message = f.payload;
            message_op = f.opcode;
          }
          break;
        case 8:
          closed = true;
          try {
            conn.send_all(client_frame(8, std::string("\x03\xe8", 2)));
          } catch (const Error&) {
          }
          break;
        case 9:
          conn.send_all(client_frame(10, f.payload));
          break;
        default:
          break;
      }
    }
    if (closed) break;
    std::string more;
    if (!conn.recv_some(more)) break;
    dec.feed(more);
  }

  if (status_json.empty())
    throw failed(what + ": the connection ended before the command's exit status arrived");
  YAML::Node st;
  try {
    st = yaml::parse(status_json, "exec status");
  } catch (const Error&) {
    throw failed(what + ": unreadable exit status: " + status_json.substr(0, 200));
  }
  std::string s = st["status"] ? st["status"].Scalar() : "";
  if (s == "Success") {
    res.exit_code = 0;
  } else if (st["reason"] && st["reason"].Scalar() == "NonZeroExitCode") {
    res.exit_code = -1;
    for (const auto& cause : F(st)["details"]["causes"])
      if (cause["reason"] && cause["reason"].Scalar() == "ExitCode") res.exit_code = std::atoi(cause["message"].Scalar().c_str());
    if (res.exit_code == -1) res.error = st["message"] ? st["message"].Scalar() : "non-zero exit code";
  } else {
    res.exit_code = -1;
    res.error = st["message"] ? st["message"].Scalar() : status_json;
  }
  log::debug("{}: exit code {}", what, res.exit_code);
  return res;
}

}  // namespace fatectl::kube

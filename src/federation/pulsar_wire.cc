// Pulsar frames and a bounded BaseCommand reader (protobuf wire format, by hand: no protobuf
// library, and only the fields a probe reads).
#include "fatectl/federation/pulsar_wire.h"

#include "fatectl/core/error.h"

namespace fatectl::federation::pulsar {

namespace {

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void tag(std::string& out, int field, int wire) { varint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire)); }

void bytes_field(std::string& out, int field, std::string_view b) {
  tag(out, field, 2);
  varint(out, b.size());
  out.append(b.data(), b.size());
}

void u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

std::string frame(const std::string& cmd) {
  std::string f;
  f.reserve(cmd.size() + 8);
  u32(f, static_cast<uint32_t>(cmd.size() + 4));
  u32(f, static_cast<uint32_t>(cmd.size()));
  return f + cmd;
}

std::string base(int type, int field, const std::string& sub) {
  std::string c;
  tag(c, 1, 0);
  varint(c, static_cast<uint64_t>(type));
  bytes_field(c, field, sub);
  return c;
}

uint32_t read_u32(std::string_view b) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(b[0])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[2])) << 8) | static_cast<uint32_t>(static_cast<unsigned char>(b[3]));
}

/// A bounded protobuf reader over one message.
struct Reader {
  std::string_view b;
  size_t i = 0;
  bool done() const { return i >= b.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= b.size()) throw invalid("pulsar command: truncated varint");
      auto c = static_cast<unsigned char>(b[i++]);
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    throw invalid("pulsar command: varint longer than 10 bytes");
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (n > b.size() - i) throw invalid("pulsar command: a field runs past the end of its frame");
    std::string_view s = b.substr(i, static_cast<size_t>(n));
    i += static_cast<size_t>(n);
    return s;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); return;
      case 1:
        if (b.size() - i < 8) throw invalid("pulsar command: truncated fixed64");
        i += 8;
        return;
      case 2: bytes(); return;
      case 5:
        if (b.size() - i < 4) throw invalid("pulsar command: truncated fixed32");
        i += 4;
        return;
      default: throw invalid("pulsar command: unknown wire type " + std::to_string(wire));
    }
  }
};

void parse_connected(std::string_view b, Command& c) {
  Reader r{b};
  while (!r.done()) {
    uint64_t t = r.varint();
    int field = static_cast<int>(t >> 3), wire = static_cast<int>(t & 7);
    if (field == 1 && wire == 2) c.server_version = std::string(r.bytes());
    else if (field == 2 && wire == 0) c.protocol_version = static_cast<int>(r.varint());
    else if (field == 3 && wire == 0) c.max_message_size = static_cast<long long>(static_cast<int32_t>(r.varint()));
    else r.skip(wire);
  }
}

void parse_error(std::string_view b, Command& c) {
  Reader r{b};
  while (!r.done()) {
    uint64_t t = r.varint();
    int field = static_cast<int>(t >> 3), wire = static_cast<int>(t & 7);
    if (field == 3 && wire == 2) c.error = std::string(r.bytes());
    else r.skip(wire);
  }
}

}  // namespace

std::string connect_frame(const std::string& client_version, size_t auth_bytes) {
  if (auth_bytes > (1u << 30)) throw invalid("a probe frame is at most 1 GiB");
  std::string sub;
  bytes_field(sub, 1, client_version);
  tag(sub, 3, 2);
  varint(sub, auth_bytes);
  sub.append(auth_bytes, '\0');
  tag(sub, 4, 0);
  varint(sub, kProtocolVersion);
  return frame(base(kConnect, 2, sub));
}

std::string ping_frame() { return frame(base(kPing, 18, "")); }
std::string pong_frame() { return frame(base(kPong, 19, "")); }

Command parse_command(std::string_view bytes) {
  Command c;
  Reader r{bytes};
  bool have_type = false;
  while (!r.done()) {
    uint64_t t = r.varint();
    int field = static_cast<int>(t >> 3), wire = static_cast<int>(t & 7);
    if (field == 1 && wire == 0) {
      c.type = static_cast<int>(r.varint());
      have_type = true;
    } else if (field == 3 && wire == 2) {
      parse_connected(r.bytes(), c);
    } else if (field == 14 && wire == 2) {
      parse_error(r.bytes(), c);
    } else {
      r.skip(wire);
    }
  }
  if (!have_type) throw invalid("pulsar command: no type");
  return c;
}

void Decoder::feed(std::string_view bytes) {
  buf_.append(bytes.data(), bytes.size());
  if (buf_.size() >= 4 && read_u32(buf_) > max_frame_)
    throw invalid("pulsar frame of " + std::to_string(read_u32(buf_)) + " bytes is larger than " + std::to_string(max_frame_));
}

std::optional<Command> Decoder::next() {
  if (buf_.size() < 8) return std::nullopt;
  uint32_t total = read_u32(buf_);
  if (total > max_frame_) throw invalid("pulsar frame of " + std::to_string(total) + " bytes is larger than " + std::to_string(max_frame_));
  if (total < 4) throw invalid("pulsar frame with total size " + std::to_string(total));
  if (buf_.size() < 4 + static_cast<size_t>(total)) return std::nullopt;
  uint32_t cmd = read_u32(std::string_view(buf_).substr(4));
  if (cmd > total - 4) throw invalid("pulsar frame: command size " + std::to_string(cmd) + " exceeds the frame");
  Command c = parse_command(std::string_view(buf_).substr(8, cmd));
  c.frame_bytes = 4 + static_cast<size_t>(total);
  buf_.erase(0, 4 + static_cast<size_t>(total));
  return c;
}

}  // namespace fatectl::federation::pulsar

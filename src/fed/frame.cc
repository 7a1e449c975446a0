// The federation wire format: header encoding and the byte-fed FrameDecoder (see frame.h).
#include "frame.h"

#include <algorithm>
#include <cstring>

namespace fatectl::fed {
namespace {

void put(char*& p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) *p++ = (char)((v >> (8 * i)) & 0xff);
}
std::uint64_t get(const char*& p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | (unsigned char)*p++;
  return v;
}

/// Decodes 48 header bytes; false when the magic is wrong.
bool decode_header(const char* in, FrameHeader& h) {
  const char* p = in;
  if (get(p, 4) != kFrameMagic) return false;
  h.type = (FrameType)get(p, 1);
  h.flags = (std::uint8_t)get(p, 1);
  h.name_len = (std::uint16_t)get(p, 2);
  h.job_len = (std::uint16_t)get(p, 2);
  get(p, 2);
  h.sender = (std::int64_t)get(p, 8);
  h.receiver = (std::int64_t)get(p, 8);
  h.seq = get(p, 8);
  h.total = get(p, 8);
  h.payload_len = (std::uint32_t)get(p, 4);
  return true;
}

}  // namespace

void encode_header(const FrameHeader& h, char* out) {
  char* p = out;
  put(p, kFrameMagic, 4);
  put(p, (std::uint8_t)h.type, 1);
  put(p, h.flags, 1);
  put(p, h.name_len, 2);
  put(p, h.job_len, 2);
  put(p, 0, 2);
  put(p, (std::uint64_t)h.sender, 8);
  put(p, (std::uint64_t)h.receiver, 8);
  put(p, h.seq, 8);
  put(p, h.total, 8);
  put(p, h.payload_len, 4);
}

std::string encode_frame(FrameHeader h, std::string_view job, std::string_view name, const char* payload, std::size_t n) {
  h.job_len = (std::uint16_t)job.size();
  h.name_len = (std::uint16_t)name.size();
  h.payload_len = (std::uint32_t)n;
  std::string f(kFrameHeaderBytes + job.size() + name.size() + n, '\0');
  encode_header(h, f.data());
  std::memcpy(f.data() + kFrameHeaderBytes, job.data(), job.size());
  std::memcpy(f.data() + kFrameHeaderBytes + job.size(), name.data(), name.size());
  if (payload && n) std::memcpy(f.data() + kFrameHeaderBytes + job.size() + name.size(), payload, n);
  return f;
}

FrameDecoder::Event FrameDecoder::next(std::string_view& in) {
  piece_ = {};
  for (;;) {
    switch (stage_) {
      case Stage::Header: {
        std::size_t take = std::min(in.size(), kFrameHeaderBytes - hgot_);
        if (take == 0) return Event::NeedMore;
        std::memcpy(hb_ + hgot_, in.data(), take);
        in.remove_prefix(take);
        hgot_ += take;
        if (hgot_ < kFrameHeaderBytes) return Event::NeedMore;
        hgot_ = 0;
        if (!decode_header(hb_, h_)) throw FrameError(FrameError::Kind::BadMagic, 0, "bad frame magic");
        if (h_.frame_bytes() > max_)
          throw FrameError(FrameError::Kind::TooLarge, h_.frame_bytes(),
                           "a frame of " + std::to_string(h_.frame_bytes()) + " bytes, over the limit of " +
                               std::to_string(max_));
        meta_.clear();
        stage_ = Stage::Meta;
        return Event::Header;
      }
      case Stage::Meta: {
        std::size_t need = (std::size_t)h_.job_len + h_.name_len - meta_.size();
        if (need == 0) {
          pgot_ = 0;
          stage_ = Stage::Payload;
          return Event::Start;
        }
        if (in.empty()) return Event::NeedMore;
        std::size_t take = std::min(need, in.size());
        meta_.append(in.data(), take);
        in.remove_prefix(take);
        break;
      }
      case Stage::Payload: {
        std::uint64_t left = h_.payload_len - pgot_;
        if (left == 0) {
          stage_ = Stage::Header;
          return Event::End;
        }
        if (in.empty()) return Event::NeedMore;
        std::size_t take = (std::size_t)std::min<std::uint64_t>(left, in.size());
        piece_ = in.substr(0, take);
        in.remove_prefix(take);
        pgot_ += take;
        return Event::Payload;
      }
    }
  }
}

std::size_t FrameDecoder::wanted() const {
  switch (stage_) {
    case Stage::Header: return kFrameHeaderBytes - hgot_;
    case Stage::Meta: return (std::size_t)h_.job_len + h_.name_len - meta_.size();
    case Stage::Payload: return (std::size_t)(h_.payload_len - pgot_);
  }
  return 0;
}

}  // namespace fatectl::fed

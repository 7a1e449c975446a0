// Fuzz target: the federation frame decoder (src/fed/frame.h) as a receiver runs it over what a
// peer sends — fed in pieces of fuzzer-chosen sizes — and the message assembly that keeps the
// payload bytes (FramePayload, Incoming). Whatever the headers declare, the decoder keeps at
// most the job id and name (≤ 2 × 64 KiB) and the assembly only the bytes that arrived.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fed/frame.h"
#include "fed/resend.h"
#include "fuzz_util.h"

using namespace fatectl;
using fed::FrameDecoder;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: the piece size pattern (1 byte at a time, small pieces, or everything at once).
  const unsigned pattern = data[0];
  std::string_view rest = fuzz::text(data + 1, size - 1);
  const std::uint64_t max_frame = 1u << 20;
  FrameDecoder dec(max_frame);
  fed::FramePayload payload;
  fed::Incoming msg;
  std::uint64_t in_payload = 0, fed_total = 0;
  bool in_frame = false, started = false;
  size_t step = 0;
  try {
    while (!rest.empty()) {
      size_t n = pattern == 0 ? 1 : pattern == 255 ? rest.size() : 1 + (pattern * 131u + step * 17u) % (pattern + 1u);
      ++step;
      std::string_view piece = rest.substr(0, n);
      rest.remove_prefix(piece.size());
      fed_total += piece.size();
      for (;;) {
        size_t before = piece.size();
        FrameDecoder::Event ev = dec.next(piece);
        if (piece.size() > before) fuzz::finding("decoder grew its input");
        if (ev == FrameDecoder::Event::NeedMore) {
          if (!piece.empty()) fuzz::finding("NeedMore with input left");
          if (dec.wanted() == 0) fuzz::finding("NeedMore but wants nothing");
          break;
        }
        const fed::FrameHeader& h = dec.header();
        switch (ev) {
          case FrameDecoder::Event::Header:
            if (in_frame) fuzz::finding("Header inside a frame");
            if (h.frame_bytes() > max_frame) fuzz::finding("a frame over the limit got through");
            in_frame = true;
            started = false;
            in_payload = 0;
            break;
          case FrameDecoder::Event::Start:
            if (!in_frame || started) fuzz::finding("Start out of order");
            if (dec.job().size() != h.job_len || dec.name().size() != h.name_len) fuzz::finding("job/name size");
            started = true;
            if (h.flags & fed::kFrameFirst) {
              msg = fed::Incoming();
              msg.total = h.total;  // a claim only: nothing is allocated for it
            }
            break;
          case FrameDecoder::Event::Payload:
            if (!started || dec.piece().empty()) fuzz::finding("Payload out of order or empty");
            in_payload += dec.piece().size();
            if (in_payload > h.payload_len) fuzz::finding("more payload than declared");
            payload.append(dec.piece(), h.payload_len - (in_payload - dec.piece().size()));
            break;
          case FrameDecoder::Event::End:
            if (!started || in_payload != h.payload_len) fuzz::finding("End before the payload was complete");
            msg.add(std::move(payload));
            in_frame = false;
            if (h.flags & fed::kFrameLast) (void)msg.take_all();
            break;
          case FrameDecoder::Event::NeedMore: break;
        }
        // What a receiver holds is bounded by what arrived, never by what was declared.
        if (msg.received > fed_total) fuzz::finding("message holds more than arrived");
      }
    }
  } catch (const fed::FrameError& e) {
    // the documented way to refuse a stream (bad magic, frame over the limit)
    if (e.kind == fed::FrameError::Kind::TooLarge && e.declared <= max_frame) fuzz::finding("TooLarge under the limit");
  } catch (const std::exception& e) {
    fuzz::finding(std::string("exception escaped the decoder: ") + e.what());
  }
  return 0;
}

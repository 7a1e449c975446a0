#include "fatectl/fed/channel.h"

#include "fatectl/core/error.h"

namespace fatectl::fed {

/// A LocalHub endpoint for one party.
class LocalChannel : public Channel {
 public:
  LocalChannel(LocalHub& hub, long self) : hub_(hub), self_(self) {}
  long self() const override { return self_; }
  void send(long to, const std::string& name, const Bytes& payload) override {
    {
      std::lock_guard<std::mutex> l(hub_.mu_);
      hub_.boxes_[{self_, to, name}].push_back(payload);
    }
    hub_.cv_.notify_all();
  }
  Bytes recv(long from, const std::string& name, std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> l(hub_.mu_);
    auto key = std::make_tuple(from, self_, name);
    bool ok = hub_.cv_.wait_for(l, timeout, [&] {
      auto it = hub_.boxes_.find(key);
      return it != hub_.boxes_.end() && !it->second.empty();
    });
    if (!ok)
      throw timed_out("party " + std::to_string(self_) + ": no message '" + name + "' from party " +
                      std::to_string(from) + " within " + std::to_string(timeout.count()) + " ms");
    auto& box = hub_.boxes_[key];
    Bytes b = std::move(box.front());
    box.erase(box.begin());
    return b;
  }

 private:
  LocalHub& hub_;
  long self_;
};

void Channel::send_stream(long to, const std::string& name, std::uint64_t total, const Producer& fill) {
  Bytes b(total, '\0');
  if (total) fill(b.data(), total);
  send(to, name, b);
}

std::uint64_t Channel::recv_stream(long from, const std::string& name, std::chrono::milliseconds timeout,
                                   const Consumer& consume) {
  Bytes b = recv(from, name, timeout);
  if (!b.empty()) consume(std::string_view(b));
  return b.size();
}

std::unique_ptr<Channel> LocalHub::channel(long party) { return std::make_unique<LocalChannel>(*this, party); }

}  // namespace fatectl::fed

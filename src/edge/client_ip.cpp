#include "edge/client_ip.h"

namespace le::edge {
namespace {

namespace ip = boost::asio::ip;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<ip::address> parse_address(std::string_view s) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

bool TrustedProxies::parse(std::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (entry.empty()) continue;
    boost::system::error_code ec;
    const std::string text(entry);
    if (entry.find('/') == std::string_view::npos) {
      auto a = parse_address(entry);
      if (!a) {
        error_ = "bad trusted proxy '" + text + "'";
        return false;
      }
      if (a->is_v4()) {
        v4_.emplace_back(a->to_v4(), 32);
      } else {
        v6_.emplace_back(a->to_v6(), 128);
      }
      continue;
    }
    if (entry.find(':') == std::string_view::npos) {
      auto n = ip::make_network_v4(text, ec);
      if (!ec) {
        v4_.push_back(n.canonical());
        continue;
      }
    } else {
      auto n = ip::make_network_v6(text, ec);
      if (!ec) {
        v6_.push_back(n.canonical());
        continue;
      }
    }
    error_ = "bad trusted proxy network '" + text + "'";
    return false;
  }
  return true;
}

bool TrustedProxies::contains(const ip::address& raw) const {
  ip::address a = raw;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    for (const auto& n : v4_) {
      if ((a.to_v4().to_uint() & n.netmask().to_uint()) == n.network().to_uint()) return true;
    }
    return false;
  }
  const auto bytes = a.to_v6().to_bytes();
  for (const auto& n : v6_) {
    const auto net = n.network().to_bytes();
    const unsigned bits = n.prefix_length();
    bool match = true;
    for (unsigned i = 0; i < 16 && match; ++i) {
      const unsigned take = bits > i * 8 ? std::min(8u, bits - i * 8) : 0;
      const auto mask = static_cast<unsigned char>(take == 0 ? 0 : 0xFF << (8 - take));
      match = (bytes[i] & mask) == (net[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

ip::address client_ip(const ip::address& peer, std::optional<std::string_view> forwarded,
                      const TrustedProxies& trusted) {
  if (!forwarded || !trusted.contains(peer)) return peer;
  ip::address current = peer;
  std::string_view rest = *forwarded;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const std::string_view entry =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    auto a = parse_address(entry);
    if (!a) return current;
    current = *a;
    if (!trusted.contains(current)) return current;
  }
  return current;
}

IpBytes::IpBytes(const boost::asio::ip::address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), bytes_.begin());
    size_ = b.size();
  } else {
    bytes_ = a.to_v6().to_bytes();
    size_ = bytes_.size();
  }
}

std::string_view IpBytes::of(std::string_view text, std::optional<IpBytes>& storage) {
  // Parsed from a terminated copy on the stack: the string_view overload allocates.
  char buf[64];
  if (text.size() >= sizeof buf) return text;
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = '\0';
  boost::system::error_code ec;
  const auto a = ip::make_address(static_cast<const char*>(buf), ec);
  if (ec) return text;
  return storage.emplace(a).view();
}

}  // namespace le::edge

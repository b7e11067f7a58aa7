// Who the client is, behind a CDN or load balancer (DESIGN §3): the address from a configured
// forwarding header, but only when the socket peer is a trusted proxy; otherwise the peer.
// Thread-safety: a TrustedProxies is built at start-up and read-only afterwards.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace le::edge {

class TrustedProxies {
 public:
  // A comma-separated list of addresses and CIDR networks ("10.0.0.0/8,::1"). False, with
  // error() set, when an entry does not parse.
  bool parse(std::string_view list);
  bool contains(const boost::asio::ip::address& a) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
  std::string error_;
};

// With `forwarded` = the header's value ("client, proxy1, proxy2"): walks from the right past
// trusted proxies and returns the first untrusted address — the hop the trusted chain received
// the request from. Returns the peer when the peer is not trusted or the header is absent; stops
// at the last trusted hop when an entry does not parse (a client can write anything leftmost).
boost::asio::ip::address client_ip(const boost::asio::ip::address& peer,
                                   std::optional<std::string_view> forwarded,
                                   const TrustedProxies& trusted);

// An address's bytes (4 or 16), to count distinct IPs without formatting them.
class IpBytes {
 public:
  explicit IpBytes(const boost::asio::ip::address& a);
  // The same for an address as text; one that does not parse is counted as its text.
  static std::string_view of(std::string_view text, std::optional<IpBytes>& storage);
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), size_}; }

 private:
  std::array<unsigned char, 16> bytes_{};
  std::size_t size_ = 0;
};

}  // namespace le::edge

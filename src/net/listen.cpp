#include "net/listen.h"

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <string>
#include <system_error>

namespace le::net {

void refuse_if_served(const boost::asio::ip::tcp::endpoint& ep) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::acceptor probe(ioc);
  probe.open(ep.protocol());
  probe.set_option(asio::socket_base::reuse_address(true));
  boost::system::error_code ec;
  probe.bind(ep, ec);
  if (ec == asio::error::address_in_use) {
    throw std::system_error(ec, "another process already serves " + ep.address().to_string() + ":" +
                                    std::to_string(ep.port()));
  }
  if (ec) throw std::system_error(ec, "bind");
}

void set_reuse_port(int native_handle) {
  int one = 1;
  if (::setsockopt(native_handle, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
}

}  // namespace le::net

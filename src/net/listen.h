// Listening addresses shared by a server's threads: each thread's acceptor joins the address
// with SO_REUSEPORT (the kernel spreads connections), and an address another process already
// serves is refused first, since SO_REUSEPORT would let a second process of the same user join
// it and the kernel split connections between two servers (two edges with different replicas).
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace le::net {

// Throws std::system_error (address_in_use, "another process already serves …") when something
// listens on `ep`: a probe socket without SO_REUSEPORT binds it, and is closed.
void refuse_if_served(const boost::asio::ip::tcp::endpoint& ep);

// Sets SO_REUSEPORT on an open socket; throws std::system_error when it cannot.
void set_reuse_port(int native_handle);

}  // namespace le::net

// Asio's TLS support compiled once, for the webhook client (the rest of Asio is in le_net).
#include <boost/asio/ssl/impl/src.hpp>

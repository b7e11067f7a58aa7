// Asio and Beast compiled once for the whole build (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are defined for every target).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>

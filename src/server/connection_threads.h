#pragma once
// How leap serve runs its HTTP connections: each on a thread of its own (issue 29 item 1).
//
// httplib's default is a fixed pool of worker threads taking connections in arrival order, so a
// few hundred sockets that send nothing (or a header byte a second) hold every worker and a
// fresh /health waits behind them for up to --timeout each round (200 idle sockets: 3.9 s).
// With a thread per connection an idle or slow socket costs only its own thread: a small
// stack (most of it never touched) and a descriptor, so /health and new requests are answered
// at once under thousands of them. Chat requests still wait for the engine in the scheduler's
// queue, which bounds them (429 beyond --queue-size); what bounds connections is a cap on
// threads, beyond which a new connection is closed at once with a log line, never queued
// behind the others.
#include <cstddef>
#include <memory>
#include <string>

namespace httplib {
class TaskQueue;
}

namespace leap::server {

// Connections served at once when --http-threads is 0.
inline constexpr size_t kDefaultMaxConnections = 4096;
// Stack of each connection thread: the handlers parse JSON iteratively and keep their buffers
// on the heap; 256 KiB is several times what the deepest request path uses.
inline constexpr size_t kConnectionStackBytes = 256 << 10;
// Descriptors kept beyond one per connection: the model file, the listening socket, stdio,
// the engine's and the tests' own.
inline constexpr size_t kReservedDescriptors = 64;
// What leap serve must be able to hold whatever --http-threads says (the bound).
inline constexpr size_t kMinConnections = 1000;

// A TaskQueue for httplib::Server::new_task_queue: enqueue() starts a detached thread for the
// connection, or returns false (httplib then closes the socket) when `max_threads` are running
// or no thread can be made; shutdown() waits until every connection thread has ended.
std::unique_ptr<httplib::TaskQueue> make_connection_threads(size_t max_threads,
                                                            size_t stack_bytes = kConnectionStackBytes);

// The connections the server can hold under this process's descriptor limit: raises the soft
// limit (ulimit -n) towards the hard one when `wanted` + kReservedDescriptors needs it, and
// returns `wanted`, or fewer when the hard limit allows fewer (then `note`, when given, says so
// for the log). Throws leap::Error when fewer than min(wanted, kMinConnections) can be had,
// naming the limit and how to raise it.
size_t connections_within_descriptor_limit(size_t wanted, std::string* note = nullptr);

}  // namespace leap::server

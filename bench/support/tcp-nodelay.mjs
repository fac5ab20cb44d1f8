// What-if preload for the benchmarks (node --import), not part of the service: turns Nagle's algorithm off on
// every TCP socket of the process, whatever the library asked for. amqplib calls setNoDelay(false) unless its
// connect options say noDelay: true, and src/platform/messaging/rabbitmq-connection.ts does not; this shows
// what passing it would change without editing src/.
import net from 'node:net';

const setNoDelay = net.Socket.prototype.setNoDelay;
net.Socket.prototype.setNoDelay = function () {
  return setNoDelay.call(this, true);
};

"""The web process's gunicorn worker: gevent, with deadlines on reading each request.

gunicorn's threaded worker lends a connection a thread for as long as its
client takes to send the request: eight idle or trickling connections held
every thread of the Procfile's web and /sms stopped answering. Under gevent a
connection costs a greenlet, and these deadlines bound how long one is held:

- the request line and headers: gunicorn's gevent worker reads them under
  ``gevent.Timeout`` (``timeout_ctx``); here that is ``HEADER_SECONDS``,
  whatever ``--keepalive`` says (so also the most a kept-alive connection idles);
- the body: gunicorn has no deadline there (the app reads ``wsgi.input`` at the
  client's pace), so this worker reads the whole body within ``BODY_SECONDS``
  before the app runs. A body not in by then gets 408, one over ``MAX_BODY``
  gets 413, and the connection is closed.

Twilio sends a whole webhook in milliseconds. Importing this module must not
import the app (gunicorn's master imports the worker class before forking and
gevent patches the standard library in each worker before the app loads), so
it imports nothing from the line.
"""
from __future__ import annotations

import io

import gevent
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

HEADER_SECONDS = 5.0
BODY_SECONDS = 5.0
MAX_BODY = 64 * 1024  # create_app's MAX_CONTENT_LENGTH: nothing the line takes is longer
_TOO_LARGE = object()


class Worker(GeventWorker):
    """gunicorn's gevent worker with a header deadline and a body deadline."""

    def timeout_ctx(self):
        return gevent.Timeout(HEADER_SECONDS, False)

    def handle_request(self, listener_name, req, sock, addr):
        if getattr(req, "_expected_100_continue", False):
            # gunicorn answers "Expect: 100-continue" only when the app starts (wsgi.create): a client that
            # waits for it before sending its body must have it before the body is read here.
            sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            req._expected_100_continue = False
        body = read_body(req.body)
        if body is None:
            self.log.debug("request body not in within %.0f s: 408, connection closed", BODY_SECONDS)
            util.write_error(sock, 408, "Request Timeout", "The request body did not arrive in time.")
            raise StopIteration()  # base_async.handle closes the connection
        if body is _TOO_LARGE:
            util.write_error(sock, 413, "Request Entity Too Large", "The request body is too large.")
            raise StopIteration()
        # Read to its end: the parser's drain before the next request finds nothing left on the socket.
        req.body = io.BytesIO(body)
        return super().handle_request(listener_name, req, sock, addr)


def read_body(stream, seconds: float = BODY_SECONDS, limit: int = MAX_BODY):
    """The whole body as bytes; None when it did not arrive within `seconds`; _TOO_LARGE past `limit`."""
    chunks, size = [], 0
    with gevent.Timeout(seconds, False):
        while True:
            chunk = stream.read(8192)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                return _TOO_LARGE
            chunks.append(chunk)
    return None

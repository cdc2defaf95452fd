//! [`Server`]: the server side of spec 10/FLP (the guide's `flserver3`): a ROUTER socket whose
//! identity is its public endpoint, which answers pings itself and hands requests to the
//! application.

use crate::error::Result;
use crate::freelance::protocol::{Request, ServerInput, pong};
use crate::{Msg, SocketExt};

/// A Freelance server socket.
///
/// - [`Server::bind`] sets the socket's identity to the endpoint clients connect to (spec
///   10/FLP: servers MUST set an identity, their public endpoint) and binds.
/// - [`Server::recv`] answers `PING` with `PONG`, logs and drops malformed messages, and
///   returns the next request; [`Server::reply`] sends its reply with the control frame.
/// - [`Server::handle`] does the same for one message the application read itself (from its
///   own poll loop on [`Server::socket`]).
///
/// ```
/// use zmq_patterns::freelance::Server;
/// use zmq_patterns::Msg;
/// let ctx = zmq::Context::new();
/// let server = Server::bind(&ctx, "inproc://flp-server-doc", "inproc://flp-server-doc").unwrap();
/// let client = ctx.socket(zmq::ROUTER).unwrap();
/// client.set_router_mandatory(true).unwrap();
/// client.connect("inproc://flp-server-doc").unwrap();
/// // The client addresses the server by its endpoint.
/// Msg::from_iter(["inproc://flp-server-doc", "PING"]).send(&client).unwrap();
/// Msg::from_iter(["inproc://flp-server-doc", "1", "random name"]).send(&client).unwrap();
/// let request = server.recv().unwrap(); // the PING was answered on the way
/// server.reply(request, Msg::from_iter(["OK"])).unwrap();
/// let pong = Msg::recv(&client).unwrap();
/// assert!(pong[1] == "PONG");
/// let reply = Msg::recv(&client).unwrap();
/// assert!(reply[0] == "inproc://flp-server-doc" && reply[1] == "1" && reply[2] == "OK");
/// ```
pub struct Server {
    socket: zmq::Socket,
    endpoint: String,
}

impl Server {
    /// A ROUTER socket with identity `endpoint` (the address clients connect to, e.g.
    /// `tcp://localhost:5555`), bound to `bind` (e.g. `tcp://*:5555`). Its linger is 0.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let server = zmq_patterns::freelance::Server::bind(
    ///     &ctx, "inproc://flp-bind-doc", "inproc://flp-bind-doc").unwrap();
    /// assert_eq!(server.endpoint(), "inproc://flp-bind-doc");
    /// ```
    pub fn bind(ctx: &zmq::Context, bind: &str, endpoint: &str) -> Result<Server> {
        let socket = ctx.socket(zmq::ROUTER)?;
        socket.set_linger(0)?;
        socket.set_identity(endpoint.as_bytes())?;
        socket.bind_to(bind)?;
        log::debug!("freelance server {endpoint} bound to {bind}");
        Ok(Server {
            socket,
            endpoint: endpoint.to_string(),
        })
    }

    /// The ROUTER socket, to poll it beside other sockets.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let server = zmq_patterns::freelance::Server::bind(
    /// #     &ctx, "inproc://flp-socket-doc", "inproc://flp-socket-doc").unwrap();
    /// assert_eq!(server.socket().get_socket_type().unwrap(), zmq::ROUTER);
    /// ```
    pub fn socket(&self) -> &zmq::Socket {
        &self.socket
    }

    /// The public endpoint, which is the socket's identity.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let server = zmq_patterns::freelance::Server::bind(
    /// #     &ctx, "inproc://flp-ep-doc", "inproc://flp-ep-doc").unwrap();
    /// assert_eq!(server.endpoint(), "inproc://flp-ep-doc");
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Handles one message read from [`Server::socket`]: answers a ping and returns
    /// `Ok(None)`, returns a request, or logs a malformed message and returns `Ok(None)`.
    /// Errors are the socket's only (sending the `PONG`).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let server = zmq_patterns::freelance::Server::bind(
    /// #     &ctx, "inproc://flp-handle-doc", "inproc://flp-handle-doc").unwrap();
    /// use zmq_patterns::Msg;
    /// assert!(server.handle(Msg::from_iter(["c", "junk"])).unwrap().is_none());
    /// let request = server.handle(Msg::from_iter(["c", "1", "body"])).unwrap().unwrap();
    /// assert!(request.control == "1");
    /// ```
    pub fn handle(&self, msg: Msg) -> Result<Option<Request>> {
        log::trace!("freelance server {} received:\n{msg}", self.endpoint);
        match ServerInput::parse(msg) {
            Ok(ServerInput::Ping { client }) => {
                let pong = pong(client);
                log::trace!("freelance server {} sends:\n{pong}", self.endpoint);
                // ROUTER drops what it cannot route; a client that left is no error.
                pong.send(&self.socket)?;
                Ok(None)
            }
            Ok(ServerInput::Request(request)) => Ok(Some(request)),
            Err(e) => {
                log::warn!("freelance server {}: dropped a message: {e}", self.endpoint);
                Ok(None)
            }
        }
    }

    /// Waits for the next request, answering pings and dropping malformed messages meanwhile.
    /// Returns [`Error::Interrupted`](crate::Error::Interrupted) on a signal.
    ///
    /// ```no_run
    /// # let ctx = zmq::Context::new();
    /// # let server = zmq_patterns::freelance::Server::bind(
    /// #     &ctx, "tcp://*:5555", "tcp://localhost:5555").unwrap();
    /// loop {
    ///     let request = server.recv()?;
    ///     server.reply(request, zmq_patterns::Msg::from_iter(["OK"]))?;
    /// }
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn recv(&self) -> Result<Request> {
        loop {
            if let Some(request) = self.handle(Msg::recv(&self.socket)?)? {
                return Ok(request);
            }
        }
    }

    /// Sends the reply to `request`: its control frame, then `body` (an empty body becomes one
    /// empty frame). A client that has gone is not an error: the reply is dropped.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let server = zmq_patterns::freelance::Server::bind(
    /// #     &ctx, "inproc://flp-reply-doc", "inproc://flp-reply-doc").unwrap();
    /// use zmq_patterns::Msg;
    /// let request = server.handle(Msg::from_iter(["gone", "1", "body"])).unwrap().unwrap();
    /// server.reply(request, Msg::from_iter(["OK"])).unwrap();
    /// ```
    pub fn reply(&self, request: Request, body: Msg) -> Result<()> {
        let reply = request.reply(body);
        log::trace!("freelance server {} sends:\n{reply}", self.endpoint);
        reply.send(&self.socket)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(tag: &str) -> (zmq::Context, Server, zmq::Socket) {
        let ctx = zmq::Context::new();
        let ep = format!("inproc://flp-server-test-{tag}");
        let server = Server::bind(&ctx, &ep, &ep).unwrap();
        let client = ctx.socket(zmq::ROUTER).unwrap();
        client.set_router_mandatory(true).unwrap();
        client.set_rcvtimeo(5000).unwrap();
        client.connect(&ep).unwrap();
        (ctx, server, client)
    }

    #[test]
    fn pings_are_answered_and_malformed_messages_dropped() {
        let (_ctx, server, client) = pair("ping");
        let ep = server.endpoint().to_string();
        for junk in [
            vec![ep.as_str()],
            vec![ep.as_str(), "HELLO"],
            vec![ep.as_str(), ""],
        ] {
            Msg::from_iter(junk).send(&client).unwrap();
        }
        Msg::from_iter([ep.as_str(), "PING"]).send(&client).unwrap();
        Msg::from_iter([ep.as_str(), "5", "a", "b"])
            .send(&client)
            .unwrap();
        let request = server.recv().unwrap();
        assert!(request.control == "5");
        assert_eq!(request.body, Msg::from_iter(["a", "b"]));
        let pong = Msg::recv(&client).unwrap();
        assert_eq!(pong, Msg::from_iter([ep.as_str(), "PONG"]));
        server.reply(request, Msg::new()).unwrap();
        let reply = Msg::recv(&client).unwrap();
        assert_eq!(reply, Msg::from_iter([ep.as_str(), "5", ""]));
    }

    #[test]
    fn the_identity_is_the_endpoint() {
        let (_ctx, server, _client) = pair("identity");
        assert_eq!(
            server.socket().get_identity().unwrap(),
            server.endpoint().as_bytes()
        );
    }
}

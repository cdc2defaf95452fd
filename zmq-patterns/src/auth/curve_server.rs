//! [`CurveClients`]: who may connect to a CURVE server socket, and the check that makes a
//! CURVE server safe by default ([`Certificate::apply_server`](crate::cert::Certificate::apply_server)).

use crate::auth::{Authenticator, ZAP_ENDPOINT};
use crate::error::{Error, Result};

/// Who may connect to a CURVE server socket, as
/// [`Certificate::apply_server`](crate::cert::Certificate::apply_server) is told.
///
/// libzmq asks the ZAP handler of the socket's context about each client; with no handler
/// there it admits every client that knows the server's public key. That is rarely what a
/// server wants by accident, so this crate makes it a choice that is written down:
///
/// - [`CurveClients::Checked`]: the clients this running [`Authenticator`] admits. It must
///   run in the socket's context and have a CURVE configuration
///   ([`curve_certificates`](Authenticator::curve_certificates) or
///   [`curve_any`](Authenticator::curve_any)) for the socket's ZAP domain or for
///   [`ANY_DOMAIN`](crate::auth::ANY_DOMAIN); otherwise [`Error::Insecure`].
/// - [`CurveClients::Any`]: any client that knows the server's key (the Stonehouse model
///   without an authenticator, libzmq's own default). Nothing is checked; a ZAP handler that
///   runs in the context still decides.
///
/// ```
/// use zmq_patterns::auth::{Authenticator, CurveClients};
/// let ctx = zmq::Context::new();
/// let auth = Authenticator::new(&ctx)?;
/// let clients = CurveClients::Checked(&auth);
/// assert!(matches!(clients, CurveClients::Checked(_)));
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub enum CurveClients<'a> {
    /// The clients this authenticator admits.
    Checked(&'a Authenticator),
    /// Any client that knows the server's public key, explicitly.
    Any,
}

/// `Ok` when `socket` may be made a CURVE server for `clients`, else [`Error::Insecure`].
/// Needs no CURVE itself, so that it is tested with any libzmq.
pub(crate) fn check_clients(socket: &zmq::Socket, clients: CurveClients<'_>) -> Result<()> {
    let auth = match clients {
        CurveClients::Any => {
            log::debug!("curve server: any client that knows the key, as asked");
            return Ok(());
        }
        CurveClients::Checked(auth) => auth,
    };
    // Is a ZAP handler bound in the socket's context? libzmq has no call that names a socket's
    // context, but an inproc endpoint is bound once per context: if the socket itself can bind
    // the ZAP endpoint, no handler holds it, and libzmq would admit every client.
    match socket.bind(ZAP_ENDPOINT) {
        Err(zmq::Error::EADDRINUSE) => {}
        Ok(()) => {
            let _ = socket.unbind(ZAP_ENDPOINT);
            return Err(Error::Insecure(
                "no ZAP handler runs in this socket's context, so libzmq would admit every \
                 client that knows the server's key: make the socket in the authenticator's \
                 context, or pass CurveClients::Any to mean it"
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let domain = match socket.get_zap_domain()? {
        Ok(domain) => domain,
        Err(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
    };
    if !auth.has_curve(&domain) {
        return Err(Error::Insecure(format!(
            "the authenticator has no CURVE configuration for ZAP domain {domain:?} (nor for \
             \"*\"), so it would refuse every client: call curve_certificates or curve_any \
             first"
        )));
    }
    log::debug!("curve server: clients checked by the authenticator, domain {domain:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without CURVE as with it: the checks themselves.
    #[test]
    fn a_server_needs_a_handler_in_its_context_configured_for_its_domain() {
        let ctx = zmq::Context::new();
        let other = zmq::Context::new();
        let auth = Authenticator::new(&other).unwrap();
        let socket = ctx.socket(zmq::ROUTER).unwrap();
        // The authenticator runs, but in another context: libzmq would not ask it
        let e = check_clients(&socket, CurveClients::Checked(&auth)).unwrap_err();
        assert!(e.is_insecure(), "{e}");
        assert!(e.to_string().contains("no ZAP handler"), "{e}");
        // The probe left nothing bound: a handler can still bind in this context
        let here = Authenticator::new(&ctx).unwrap();
        let e = check_clients(&socket, CurveClients::Checked(&here)).unwrap_err();
        assert!(e.to_string().contains("no CURVE configuration"), "{e}");
        here.set_curve_for_test("global");
        socket.set_zap_domain("other").unwrap();
        assert!(check_clients(&socket, CurveClients::Checked(&here)).is_err());
        socket.set_zap_domain("global").unwrap();
        check_clients(&socket, CurveClients::Checked(&here)).unwrap();
        here.set_curve_for_test("*");
        socket.set_zap_domain("other").unwrap();
        check_clients(&socket, CurveClients::Checked(&here)).unwrap();
        // Once the handler stops, the same socket is refused again
        here.stop().unwrap();
        let e = check_clients(&socket, CurveClients::Checked(&auth)).unwrap_err();
        assert!(e.to_string().contains("no ZAP handler"), "{e}");
        check_clients(&socket, CurveClients::Any).unwrap();
    }
}

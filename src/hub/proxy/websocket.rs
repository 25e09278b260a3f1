//! WebSocket bridging: once the module answered `101 Switching Protocols`
//! (its headers, `Sec-WebSocket-Protocol` included, go back to the client
//! unchanged), both upgraded connections are spliced byte for byte. The
//! hub does not parse frames: the module negotiated the protocol and owns it.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// Splice the client's and the module's upgraded connections until either
/// side closes; the module counts as in use (`in_use`) until then.
pub fn bridge(
    client: OnUpgrade,
    module: OnUpgrade,
    service: String,
    in_use: Option<super::book::InUse>,
) {
    tokio::spawn(async move {
        let _in_use = in_use;
        let (client, module) = match tokio::try_join!(client, module) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, service, "websocket upgrade did not complete");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut module = TokioIo::new(module);
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut module).await {
            tracing::debug!(error = %e, service, "websocket bridge ended with an error");
        }
    });
}

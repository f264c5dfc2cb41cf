//! The management port as the original's single-accept server socket
//! (docs/protocol.md#the-listener): it takes exactly one orchestrator connection and then
//! stops listening, so while that connection is up any further attempt is refused rather than
//! left hanging in the backlog. When the connection ends, the port is bound again.

use std::{io, net::SocketAddr, time::Duration};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tracing::warn;

pub(crate) struct Listener {
    /// The address actually bound (the real port, also when port 0 was asked for).
    addr: SocketAddr,
    socket: Option<TcpListener>,
}

impl Listener {
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let socket = bind(addr)?;
        let addr = socket.local_addr()?;
        Ok(Listener { addr, socket: Some(socket) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next orchestrator connection. Binding again after a connection can fail for a
    /// moment (or for long, if something else took the port): that is retried with back-off,
    /// forever, as the original does.
    pub async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let mut delay = Duration::from_millis(50);
        loop {
            let socket = match self.socket.take() {
                Some(socket) => socket,
                None => match bind(self.addr) {
                    Ok(socket) => socket,
                    Err(e) => {
                        warn!(addr = %self.addr, retry_in = ?delay, "cannot listen for the orchestrator: {e}");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            match socket.accept().await {
                // The listening socket is dropped here: one connection at a time.
                Ok(connection) => return connection,
                Err(e) => {
                    // E.g. out of file descriptors: keep the socket and try again shortly.
                    warn!(retry_in = ?delay, "accepting the orchestrator's connection failed: {e}");
                    self.socket = Some(socket);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // Before bind (unlike the original, which sets it too late to matter), so a port whose
    // last connection lingers in TIME_WAIT can be bound again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(8)
}

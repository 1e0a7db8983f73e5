//! A loopback SMTP sink for mail tests: it accepts every message and keeps it. (Hand-written
//! because it is a test double of a few lines, not a mail server.)

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A received message: the envelope recipients and the raw data.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

/// A running sink.
pub struct SmtpSink {
    pub addr: SocketAddr,
    pub messages: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Listens on `addr` (to bring a "mail server" back on the port it had).
    pub async fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                            b"250 OK\r\n"
                        } else if upper.starts_with("DATA") {
                            let _ = w.write_all(b"354 go on\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            store.lock().unwrap().push(Received {
                                to: std::mem::take(&mut to),
                                data,
                            });
                            b"250 queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink {
            addr,
            messages,
            task,
        }
    }

    /// The messages so far.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Stops listening (the port is free again).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// The flags that send Palisade's mail to a sink at `addr`: plain SMTP on loopback, from
/// palisade@school.example.
pub fn mail_args(addr: SocketAddr) -> Vec<String> {
    [
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &addr.port().to_string(),
        "--smtp-security",
        "none",
        "--smtp-from",
        "palisade@school.example",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The flags that run the DNS gateway alone on a free loopback port, asking `upstream`
/// (the mailer runs with the gateways), then those of [`mail_args`].
pub fn dns_and_mail_args(upstream: &str, sink: SocketAddr) -> Vec<String> {
    let mut args: Vec<String> = [
        "--dns-listen",
        "127.0.0.1:0",
        "--dns-upstream",
        upstream,
        "--no-proxy",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(mail_args(sink));
    args
}

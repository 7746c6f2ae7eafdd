//! A small SMTP server on loopback that speaks enough of RFC 5321 for a real client (lettre): greeting,
//! EHLO with `AUTH PLAIN LOGIN` when it has a password, AUTH PLAIN, MAIL, RCPT, DATA with dot-stuffing, RSET,
//! NOOP, QUIT. It keeps every message it accepted, and can refuse log-ins (535) or recipients (451, 550).

use base64::Engine as _;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-stuffing undone.
    pub data: String,
    /// The user that logged in, when one did.
    pub user: Option<String>,
}

#[derive(Default)]
struct Settings {
    /// Every AUTH attempt's user, accepted or not.
    logins: Vec<String>,
    /// `(user, password)` required to send; none: no AUTH offered.
    login: Option<(String, String)>,
    /// The reply to every RCPT, when set (`451 4.3.0 try later`).
    refuse_rcpt: Option<String>,
}

pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    settings: Arc<Mutex<Settings>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start(login: Option<(&str, &str)>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let settings = Arc::new(Mutex::new(Settings {
            login: login.map(|(u, p)| (u.to_owned(), p.to_owned())),
            refuse_rcpt: None,
            logins: Vec::new(),
        }));
        let (m, s) = (mails.clone(), settings.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(session(stream, m.clone(), s.clone()));
            }
        });
        SmtpServer {
            port,
            mails,
            settings,
            task,
        }
    }

    /// The users that tried to log in.
    pub fn logins(&self) -> Vec<String> {
        self.settings.lock().unwrap().logins.clone()
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Changes the password it takes (the old one gets 535).
    pub fn set_password(&self, password: &str) {
        if let Some(login) = &mut self.settings.lock().unwrap().login {
            login.1 = password.to_owned();
        }
    }

    /// Answers every RCPT with `reply` (`None`: accept).
    pub fn refuse_recipients(&self, reply: Option<&str>) {
        self.settings.lock().unwrap().refuse_rcpt = reply.map(str::to_owned);
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
    settings: Arc<Mutex<Settings>>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let say = async |w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
        let _ = w.write_all(format!("{text}\r\n").as_bytes()).await;
    };
    say(&mut write, "220 fake.smtp ESMTP ready").await;
    let (mut from, mut to, mut user) = (String::new(), Vec::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let login = settings.lock().unwrap().login.clone();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let auth = if login.is_some() {
                "250-AUTH PLAIN LOGIN\r\n"
            } else {
                ""
            };
            let _ = write
                .write_all(
                    format!("250-fake.smtp\r\n{auth}250-8BITMIME\r\n250 SMTPUTF8\r\n").as_bytes(),
                )
                .await;
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN ").map(|_| &command[11..]) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(initial.trim())
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            if let Some(user) = parts.get(1) {
                settings.lock().unwrap().logins.push(user.clone());
            }
            match (&login, parts.as_slice()) {
                (Some((u, p)), [_, gu, gp]) if gu == u && gp == p => {
                    user = Some(u.clone());
                    say(&mut write, "235 2.7.0 Authentication successful").await;
                }
                _ => say(&mut write, "535 5.7.8 Authentication credentials invalid").await,
            }
        } else if upper.starts_with("MAIL FROM:") {
            if login.is_some() && user.is_none() {
                say(&mut write, "530 5.7.0 Authentication required").await;
                continue;
            }
            from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            to.clear();
            say(&mut write, "250 2.1.0 OK").await;
        } else if upper.starts_with("RCPT TO:") {
            let refused = settings.lock().unwrap().refuse_rcpt.clone();
            match refused {
                Some(reply) => say(&mut write, &reply).await,
                None => {
                    to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
                    say(&mut write, "250 2.1.5 OK").await;
                }
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                say(&mut write, "554 5.5.1 No valid recipients").await;
                continue;
            }
            say(&mut write, "354 End data with <CR><LF>.<CR><LF>").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
                user: user.clone(),
            });
            say(&mut write, "250 2.0.0 OK queued").await;
        } else if upper == "RSET" || upper == "NOOP" {
            say(&mut write, "250 2.0.0 OK").await;
        } else if upper == "QUIT" {
            say(&mut write, "221 2.0.0 Bye").await;
            return;
        } else {
            say(&mut write, "502 5.5.2 Command not recognized").await;
        }
    }
}

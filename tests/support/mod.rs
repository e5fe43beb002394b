//! A small loopback HTTP/1.1 stub for the model-client tests: it records
//! every request it receives (with the time it arrived) and answers each by
//! a script, so a test can inject faults and count what reached the server.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// 0-based arrival order.
    pub index: usize,
    /// When its head and body were read.
    pub at: Instant,
    /// Method and path, e.g. `POST /v1/chat/completions`.
    pub line: String,
    /// Header lines, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` if it was not JSON).
    pub body: serde_json::Value,
}

impl Seen {
    /// A header value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The content of the last message of an OpenAI/Anthropic body, or the
    /// last part of a Gemini body.
    pub fn last_user_text(&self) -> String {
        let b = &self.body;
        b.get("messages")
            .and_then(|m| m.as_array())
            .and_then(|m| m.last())
            .and_then(|m| m.get("content"))
            .and_then(|c| c.as_str())
            .or_else(|| {
                b.pointer("/contents/0/parts/0/text")
                    .and_then(|t| t.as_str())
            })
            .unwrap_or("")
            .to_owned()
    }
}

/// How the stub answers one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// A full response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Close the connection with a TCP reset, without answering.
    Reset,
    /// Send the head and part of the body, then go silent for this long.
    Stall { partial: String, for_: Duration },
    /// Wait, then act.
    Delay(Duration, Box<Action>),
}

impl Action {
    /// A 200 JSON answer.
    pub fn ok(body: serde_json::Value) -> Action {
        Action::Respond {
            status: 200,
            headers: vec![],
            body: body.to_string(),
        }
    }

    /// A JSON answer with `status` and extra headers.
    pub fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Action {
        Action::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_owned(),
        }
    }
}

type Script = dyn Fn(&Seen) -> Action + Send + Sync;

/// A running stub; it stops when dropped.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    /// Starts a stub on a free loopback port answering by `script`.
    pub async fn start(script: impl Fn(&Seen) -> Action + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (seen, script) = (seen.clone(), script.clone());
                    tokio::spawn(serve(stream, seen, script));
                }
            })
        };
        Stub { url, seen, task }
    }

    /// Every request received so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn serve(mut stream: TcpStream, seen: Arc<Mutex<Vec<Seen>>>, script: Arc<Script>) {
    let mut buf = Vec::new();
    loop {
        // Read one request head.
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p;
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let line = lines.next().unwrap_or("").to_owned();
        let line = line
            .rsplit_once(' ')
            .map_or(line.clone(), |(a, _)| a.to_owned());
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body_bytes: Vec<u8> = buf.drain(..head_end + 4 + len).skip(head_end + 4).collect();
        let body = serde_json::from_slice(&body_bytes).unwrap_or(serde_json::Value::Null);
        let req = {
            let mut seen = seen.lock().unwrap();
            let req = Seen {
                index: seen.len(),
                at: Instant::now(),
                line,
                headers,
                body,
            };
            seen.push(req.clone());
            req
        };
        let mut action = script(&req);
        loop {
            match action {
                Action::Delay(d, next) => {
                    tokio::time::sleep(d).await;
                    action = *next;
                }
                Action::Respond {
                    status,
                    headers,
                    body,
                } => {
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&body);
                    if stream.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                    break;
                }
                Action::Reset => {
                    // A zero linger makes the close send RST; it does not block.
                    #[allow(deprecated)]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    return;
                }
                Action::Stall { partial, for_ } => {
                    let out = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{partial}",
                        partial.len() + 1000
                    );
                    let _ = stream.write_all(out.as_bytes()).await;
                    let _ = stream.flush().await;
                    tokio::time::sleep(for_).await;
                    return;
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An OpenAI chat-completions body answering `text`.
pub fn openai_answer(text: &str) -> serde_json::Value {
    serde_json::json!({
        "model": "stub-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5}
    })
}

/// A chat request for `prompt_id` whose user text is `text`.
pub fn request(prompt_id: &str, text: &str) -> refusal_bias::model::ChatRequest {
    refusal_bias::model::ChatRequest {
        prompt_id: prompt_id.into(),
        sample: 0,
        system: None,
        messages: vec![refusal_bias::model::Message::user(text)],
        params: refusal_bias::model::Params::default(),
    }
}

/// The live local model server's base URL and model name, from
/// `REFUSAL_BIAS_LIVE_URL` and `REFUSAL_BIAS_LIVE_MODEL`. Without them it prints
/// "skipping: ..." and returns `None`, unless `REFUSAL_BIAS_REQUIRE_LIVE=1`,
/// which makes the calling test fail.
pub fn live() -> Option<(String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    match (var("REFUSAL_BIAS_LIVE_URL"), var("REFUSAL_BIAS_LIVE_MODEL")) {
        (Some(url), Some(model)) => Some((url, model)),
        _ => {
            assert!(
                std::env::var("REFUSAL_BIAS_REQUIRE_LIVE").as_deref() != Ok("1"),
                "REFUSAL_BIAS_REQUIRE_LIVE=1 but REFUSAL_BIAS_LIVE_URL or \
                 REFUSAL_BIAS_LIVE_MODEL is unset"
            );
            println!("skipping: REFUSAL_BIAS_LIVE_URL or REFUSAL_BIAS_LIVE_MODEL is unset");
            None
        }
    }
}

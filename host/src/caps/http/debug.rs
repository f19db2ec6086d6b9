//! `--http-debug` (k6's flag): each attempt's request and its response (or
//! error) printed to stderr as one block, labelled with the VU and its
//! iteration; with `full`, the bodies too; with `summary` (`vespid dev`),
//! one live line instead. Nothing is formatted unless the option is on,
//! and each block is one locked write, so blocks from VUs on other threads
//! never interleave.

use std::fmt::Write as _;
use std::io::Write as _;
use std::str::FromStr;
use std::time::Duration;

use super::client::ResponseBody;
use crate::bindings::http::Error as HttpError;
use crate::caps::live;

/// Longest body printed; a person reads a JSON document of this size, and a
/// larger body would bury the other requests.
const MAX_BODY: usize = 8 << 10;

/// What `--http-debug` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpDebug {
    #[default]
    Off,
    /// Request and status lines with their headers.
    Headers,
    /// Headers and bodies.
    Full,
    /// One line per attempt: method, URL, status (or error) and duration.
    Summary,
}

impl FromStr for HttpDebug {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "headers" => Ok(HttpDebug::Headers),
            "full" => Ok(HttpDebug::Full),
            "summary" => Ok(HttpDebug::Summary),
            other => Err(format!("invalid http-debug {other:?}: use headers, full or summary")),
        }
    }
}

/// Who sent a request: VU `vu` in its iteration `iteration`.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub vu: u32,
    pub iteration: u32,
}

/// The request part of a block, formatted before the request is sent (it
/// moves into the connection). `url` is the request's whole URL.
pub fn request(
    mode: HttpDebug,
    sender: Sender,
    request: &http::Request<impl Sized>,
    url: &url::Url,
    body: &[u8],
) -> String {
    if mode == HttpDebug::Summary {
        return format!("{} {url}", request.method());
    }
    let Sender { vu, iteration } = sender;
    let mut block = format!("vu={vu} iteration={iteration} request:\n");
    let uri = request.uri();
    let _ = writeln!(block, "{} {} HTTP/1.1", request.method(), uri.path_and_query().map_or("/", |p| p.as_str()));
    headers(&mut block, request.headers());
    if mode == HttpDebug::Full {
        show_body(&mut block, body);
    }
    block
}

/// Adds the response (or why there is none) to `block` and prints it;
/// `took` is the attempt's time, shown by `summary`.
pub fn finish(
    mut block: String,
    mode: HttpDebug,
    sender: Sender,
    outcome: Result<&http::Response<Vec<u8>>, &HttpError>,
    kept: ResponseBody,
    took: Duration,
) {
    let Sender { vu, iteration } = sender;
    if mode == HttpDebug::Summary {
        let ms = took.as_secs_f64() * 1000.0;
        match outcome {
            Ok(response) => live::line(vu, iteration, format_args!("{block} {} {ms:.1}ms", response.status().as_u16())),
            Err(error) => live::line(vu, iteration, format_args!("{block} no response: {error:?} {ms:.1}ms")),
        }
        return;
    }
    match outcome {
        Ok(response) => {
            let _ = writeln!(block, "vu={vu} iteration={iteration} response:");
            let _ = writeln!(block, "{:?} {}", response.version(), response.status());
            headers(&mut block, response.headers());
            if mode == HttpDebug::Full {
                match kept {
                    ResponseBody::Keep { .. } => show_body(&mut block, response.body()),
                    ResponseBody::Discard => block.push_str("[body discarded: the request set discard_body]\n\n"),
                }
            }
        }
        Err(error) => {
            let _ = writeln!(block, "vu={vu} iteration={iteration} no response: {error:?}\n");
        }
    }
    // Nothing to do if stderr is gone; the run goes on.
    let _ = std::io::stderr().lock().write_all(block.as_bytes());
}

/// The header lines and the blank line after them.
fn headers(block: &mut String, headers: &http::HeaderMap) {
    for (name, value) in headers {
        let _ = writeln!(block, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    block.push('\n');
}

/// Text up to [`MAX_BODY`] bytes, cut on a character; a body that is not
/// text is only described, since raw bytes would garble the terminal.
fn show_body(block: &mut String, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    let shown = &body[..body.len().min(MAX_BODY)];
    let text = match std::str::from_utf8(shown) {
        Ok(text) => Some(text),
        // Cut inside a character: show what comes before it.
        Err(err) if err.error_len().is_none() => std::str::from_utf8(&shown[..err.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text.filter(|text| !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))) {
        Some(text) => {
            block.push_str(text);
            if text.len() < body.len() {
                let _ = write!(block, "\n[… {} more bytes]", body.len() - text.len());
            }
        }
        None => {
            let _ = write!(block, "[binary body, {} bytes]", body.len());
        }
    }
    // Then one blank line, whether or not the body ended its last line.
    if !block.ends_with('\n') {
        block.push('\n');
    }
    block.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(body: &[u8]) -> String {
        let mut block = String::new();
        show_body(&mut block, body);
        block
    }

    #[test]
    fn bodies_are_text_cut_at_a_character_or_described() {
        assert_eq!(shown(b""), "");
        assert_eq!(shown(b"{\"ok\":true}"), "{\"ok\":true}\n\n");
        assert_eq!(shown(b"line\n"), "line\n\n");
        assert_eq!(shown(&[0, 159, 146, 150]), "[binary body, 4 bytes]\n\n");
        // 'é' is two bytes, the second one past the cut.
        let mut long = vec![b'a'; MAX_BODY - 1];
        long.extend("é and more".as_bytes());
        let text = shown(&long);
        assert!(text.starts_with("aaa") && !text.contains('é'), "cut before the character");
        assert!(
            text.ends_with(&format!("[… {} more bytes]\n\n", long.len() - (MAX_BODY - 1))),
            "{}",
            &text[MAX_BODY..]
        );
    }

    #[test]
    fn a_block_has_the_request_line_and_headers() {
        let req = http::Request::post("/login?next=%2F").header("host", "example.test").body(()).unwrap();
        let sender = Sender { vu: 3, iteration: 7 };
        let url = url::Url::parse("http://example.test/login?next=%2F").unwrap();
        let block = request(HttpDebug::Full, sender, &req, &url, b"user=ann");
        assert_eq!(
            block,
            "vu=3 iteration=7 request:\nPOST /login?next=%2F HTTP/1.1\nhost: example.test\n\nuser=ann\n\n"
        );
        assert_eq!(request(HttpDebug::Headers, sender, &req, &url, b"user=ann").matches("user=ann").count(), 0);
        assert_eq!(
            request(HttpDebug::Summary, sender, &req, &url, b"user=ann"),
            "POST http://example.test/login?next=%2F"
        );
        assert_eq!("full".parse(), Ok(HttpDebug::Full));
        assert_eq!("summary".parse(), Ok(HttpDebug::Summary));
        assert!("all".parse::<HttpDebug>().unwrap_err().contains("headers, full or summary"));
    }
}

//! An OpenAI-compatible chat endpoint (a cloud service, or `llama-server` from `make llm`),
//! through async-openai with JSON in and out: small local servers leave out fields a typed
//! response would require. Every call has a deadline; the prompt is bounded.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::AiError;

/// Characters of prompt sent in one call (system and user messages together).
pub const MAX_PROMPT: usize = 24_000;

#[derive(Clone)]
pub struct Llm {
    client: async_openai::Client<async_openai::config::OpenAIConfig>,
    model: String,
    timeout: Duration,
}

/// What the model answered: its text, the tools it called (native `tool_calls`), and how long
/// it took.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub text: String,
    pub tool_calls: Vec<(String, Value)>,
    pub took: Duration,
}

impl Llm {
    pub fn new(url: &str, model: &str, api_key: String, timeout: Duration) -> Llm {
        let config = async_openai::config::OpenAIConfig::new()
            .with_api_base(url.trim_end_matches('/'))
            .with_api_key(api_key);
        Llm {
            client: async_openai::Client::with_config(config),
            model: model.to_string(),
            timeout,
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// One completion of `messages` (`[{role, content}]`), with `tools` (OpenAI function tools)
    /// when given. Temperature 0: the same question gets the same answer.
    pub async fn chat(
        &self,
        messages: Vec<Value>,
        tools: Option<Vec<Value>>,
    ) -> Result<Reply, AiError> {
        let messages = bounded(messages);
        let mut request = json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "stream": false,
        });
        if let Some(tools) = tools.filter(|t| !t.is_empty()) {
            request["tools"] = Value::Array(tools);
        }
        let started = Instant::now();
        let response: Value =
            tokio::time::timeout(self.timeout, self.client.chat().create_byot(request))
                .await
                .map_err(|_| AiError::Timeout("the language model"))?
                .map_err(|e| AiError::Upstream(format!("the language model: {e}")))?;
        let message = &response["choices"][0]["message"];
        if message.is_null() {
            return Err(AiError::Upstream(
                "the language model sent no message".into(),
            ));
        }
        let tool_calls = message["tool_calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .filter_map(|c| {
                        let f = &c["function"];
                        let name = f["name"].as_str()?.to_string();
                        // Arguments arrive as a JSON string (OpenAI) or an object (some servers).
                        let args = match &f["arguments"] {
                            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                            other => other.clone(),
                        };
                        Some((name, args))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Reply {
            text: message["content"].as_str().unwrap_or_default().to_string(),
            tool_calls,
            took: started.elapsed(),
        })
    }
}

/// `messages` cut to `MAX_PROMPT` characters: the oldest turns between the first (system)
/// message and the last go first, then the longest message is shortened.
pub fn bounded(mut messages: Vec<Value>) -> Vec<Value> {
    let size = |m: &[Value]| -> usize {
        m.iter()
            .map(|v| v["content"].as_str().map_or(0, str::len))
            .sum()
    };
    while size(&messages) > MAX_PROMPT && messages.len() > 2 {
        messages.remove(1);
    }
    while size(&messages) > MAX_PROMPT {
        let Some((i, len)) = messages
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v["content"].as_str().map_or(0, str::len)))
            .max_by_key(|(_, len)| *len)
        else {
            break;
        };
        let over = size(&messages) - MAX_PROMPT;
        let keep = len.saturating_sub(over + 20);
        let text = messages[i]["content"].as_str().unwrap_or_default();
        let mut end = keep.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut = format!("{} […]", &text[..end]);
        messages[i]["content"] = Value::String(cut);
        if keep == 0 {
            break;
        }
    }
    messages
}

/// The first JSON object written in a text (small models answer with JSON in the message,
/// often in a code block, sometimes with words around it).
pub fn json_in_text(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = text[start..].find(['{', '[']) {
        let from = start + offset;
        let mut depth = 0i32;
        let mut in_string = false;
        let mut escaped = false;
        for (i, &b) in bytes.iter().enumerate().skip(from) {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        if let Ok(v) = serde_json::from_str::<Value>(&text[from..=i]) {
                            return Some(v);
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
        start = from + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_prose_and_code_blocks() {
        assert_eq!(
            json_in_text(
                "Sure!\n```json\n{\"name\": \"list\", \"arguments\": {\"q\": \"a}b\"}}\n```"
            ),
            Some(json!({"name": "list", "arguments": {"q": "a}b"}}))
        );
        assert_eq!(json_in_text("[1, 2] and more"), Some(json!([1, 2])));
        assert_eq!(json_in_text("{broken {\"ok\": 1}"), Some(json!({"ok": 1})));
        assert_eq!(json_in_text("no json here"), None);
    }

    #[test]
    fn long_prompts_lose_old_turns_first_then_length() {
        let big = "x".repeat(MAX_PROMPT);
        let m = bounded(vec![
            json!({"role": "system", "content": "rules"}),
            json!({"role": "user", "content": big}),
            json!({"role": "assistant", "content": "old answer"}),
            json!({"role": "user", "content": "the question"}),
        ]);
        // The oldest turn went; what is left fits.
        assert_eq!(m.len(), 3);
        assert_eq!(m[1]["content"], "old answer");
        assert_eq!(m[2]["content"], "the question");
        let m = bounded(vec![
            json!({"role": "system", "content": "rules"}),
            json!({"role": "user", "content": format!("{big}{big}")}),
        ]);
        let total: usize = m.iter().map(|v| v["content"].as_str().unwrap().len()).sum();
        assert!(total <= MAX_PROMPT, "{total}");
        assert!(m[1]["content"].as_str().unwrap().ends_with("[…]"));
    }
}

//! Embeddings: the embedded default, all-MiniLM-L6-v2 run in process with candle (weights
//! from the models directory, fetched by `scripts/setup-models.sh`), or any OpenAI-compatible
//! `/embeddings` endpoint. Every vector is L2-normalised, so cosine similarity is a dot
//! product, and carries the model's name and dimension (`ai_embedding.model`), so a change of
//! model re-embeds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};
use tokio::sync::Semaphore;

use super::AiError;

/// The embedded model's name, as recorded with its vectors.
pub const MINILM: &str = "all-MiniLM-L6-v2";
/// Tokens per text: the model saw at most 256 in training (sentence-transformers' limit).
const MAX_TOKENS: usize = 256;
/// Texts per forward pass (beyond this, padding costs more than batching saves).
const BATCH: usize = 32;

/// An embeddings provider.
#[derive(Clone)]
pub enum Embedder {
    /// all-MiniLM-L6-v2 in process.
    Local(Arc<MiniLm>),
    /// An OpenAI-compatible endpoint.
    Remote(Arc<RemoteEmbedder>),
}

impl Embedder {
    /// The model's name, recorded with each vector.
    pub fn model(&self) -> &str {
        match self {
            Embedder::Local(_) => MINILM,
            Embedder::Remote(r) => &r.model,
        }
    }

    /// The vectors' length.
    pub fn dimension(&self) -> usize {
        match self {
            Embedder::Local(m) => m.dimension,
            Embedder::Remote(r) => r.dimension,
        }
    }

    /// One normalised vector per text, in order.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Embedder::Local(m) => {
                // The model uses the CPU for milliseconds per text: off the async threads, and
                // at most one batch per core at a time.
                let _permit = m.permits.acquire().await.map_err(|_| AiError::Closed)?;
                let m = m.clone();
                tokio::task::spawn_blocking(move || m.embed_blocking(&texts))
                    .await
                    .map_err(|e| AiError::Model(format!("the embedding task failed: {e}")))?
            }
            Embedder::Remote(r) => r.embed(texts).await,
        }
    }

    /// One text's vector.
    pub async fn embed_one(&self, text: &str) -> Result<Vec<f32>, AiError> {
        self.embed(vec![text.to_string()])
            .await?
            .pop()
            .ok_or_else(|| AiError::Model("the model returned no vector".into()))
    }
}

/// all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions): mean of the token vectors under the
/// attention mask, L2-normalised, as sentence-transformers computes it.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dimension: usize,
    permits: Semaphore,
}

impl MiniLm {
    /// Loads the model from `dir` (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub fn load(dir: &Path) -> Result<MiniLm, AiError> {
        let file = |name: &str| -> Result<PathBuf, AiError> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(AiError::Unavailable(format!(
                    "the embedding model is not at {}: run `bash scripts/setup-models.sh minilm` \
                     (or set ai.embeddings_url)",
                    p.display()
                )))
            }
        };
        let model_err = |what: &str, e: &dyn std::fmt::Display| {
            AiError::Model(format!("{what} ({}): {e}", dir.display()))
        };
        let config: BertConfig = serde_json::from_slice(
            &std::fs::read(file("config.json")?).map_err(|e| model_err("config.json", &e))?,
        )
        .map_err(|e| model_err("config.json", &e))?;
        let weights =
            std::fs::read(file("model.safetensors")?).map_err(|e| model_err("weights", &e))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| model_err("weights", &e))?;
        let model = BertModel::load(vb, &config).map_err(|e| model_err("weights", &e))?;
        let mut tokenizer = Tokenizer::from_file(file("tokenizer.json")?)
            .map_err(|e| model_err("tokenizer", &*e))?;
        // The shipped tokenizer pads every text to 128 tokens and cuts there: pad to the
        // longest text of a batch instead, and cut at the model's own limit.
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| model_err("tokenizer", &*e))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(MiniLm {
            model,
            tokenizer,
            device,
            dimension: config.hidden_size,
            permits: Semaphore::new(cores.clamp(1, 4)),
        })
    }

    fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        // Batches of texts of similar length: a batch is padded to its longest text, and
        // attention costs the square of that.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            let vectors = self
                .batch(&batch)
                .map_err(|e| AiError::Model(format!("embedding failed: {e}")))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, tokenizers::Error> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true)?;
        let ids = encodings
            .iter()
            .map(|e| Tensor::new(e.get_ids(), &self.device))
            .collect::<Result<Vec<_>, _>>()?;
        let mask = encodings
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &self.device))
            .collect::<Result<Vec<_>, _>>()?;
        let ids = Tensor::stack(&ids, 0)?;
        let mask = Tensor::stack(&mask, 0)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean over the real tokens, then unit length.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }
}

/// An OpenAI-compatible `/embeddings` endpoint (a cloud service, `llama-server --embeddings`).
pub struct RemoteEmbedder {
    client: async_openai::Client<async_openai::config::OpenAIConfig>,
    model: String,
    dimension: usize,
    timeout: Duration,
}

impl RemoteEmbedder {
    /// Connects to `url` and asks for one vector, to learn the dimension (and to fail at
    /// start-up, not at the first search, when the endpoint is wrong).
    pub async fn connect(
        url: &str,
        model: &str,
        api_key: &str,
        timeout: Duration,
    ) -> Result<RemoteEmbedder, AiError> {
        let config = async_openai::config::OpenAIConfig::new()
            .with_api_base(url.trim_end_matches('/'))
            .with_api_key(api_key);
        let mut r = RemoteEmbedder {
            client: async_openai::Client::with_config(config),
            model: model.to_string(),
            dimension: 0,
            timeout,
        };
        let probe = r.embed(vec!["dimension probe".into()]).await?;
        r.dimension = probe.first().map_or(0, Vec::len);
        if r.dimension == 0 {
            return Err(AiError::Model(format!(
                "{url} returned an empty vector for model {model}"
            )));
        }
        Ok(r)
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            let request = CreateEmbeddingRequestArgs::default()
                .model(&self.model)
                .input(chunk.to_vec())
                .build()
                .map_err(|e| AiError::Model(e.to_string()))?;
            let response =
                tokio::time::timeout(self.timeout, self.client.embeddings().create(request))
                    .await
                    .map_err(|_| AiError::Timeout("the embeddings endpoint"))?
                    .map_err(|e| AiError::Upstream(format!("embeddings: {e}")))?;
            let mut data = response.data;
            data.sort_by_key(|d| d.index);
            if data.len() != chunk.len() {
                return Err(AiError::Upstream(format!(
                    "embeddings: {} vectors for {} texts",
                    data.len(),
                    chunk.len()
                )));
            }
            out.extend(data.into_iter().map(|d| normalised(d.embedding)));
        }
        Ok(out)
    }
}

/// `v` at unit length (a zero vector stays zero).
pub fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of two normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

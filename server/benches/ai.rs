//! The embedded model's speed, on this machine's CPU: one question at a time (what the
//! marketplace assistant and API chat pay per request) and the whole test catalogue's texts in
//! batches (what the indexer pays when APIs are published). The nearest-neighbour query and the
//! indexing job end to end are measured by `scripts/bench-ai.sh`, which runs this first.
//!
//!   cargo bench -p server --bench ai
//!
//! Needs the model: `bash scripts/setup-models.sh minilm` (`make setup` runs it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use server::ai::embed::{Embedder, MINILM, MiniLm};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ai");

fn models_dir() -> PathBuf {
    std::env::var_os("GATEHOUSE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/gatehouse/models")
        })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The texts the indexer embeds for each API of the test catalogue (`index::items`).
fn catalogue_texts(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the AI test catalogue")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    for f in files {
        let doc: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for verb in ["get", "put", "post", "delete", "patch", "head", "options"] {
                if item.get(verb).is_some() {
                    ops.push(serde_json::json!({"target": path, "verb": verb.to_uppercase()}));
                }
            }
        }
        let ops: Vec<app::publisher::Operation> =
            serde_json::from_value(Value::Array(ops)).unwrap();
        let name = doc["info"]["title"].as_str().unwrap_or("API");
        let items = server::ai::index::items(name, "1.0", "", &Value::Null, &ops, Some(&doc));
        texts.extend(items.into_iter().map(|i| i.content));
    }
    texts
}

fn main() {
    let dir = models_dir().join(MINILM);
    let start = Instant::now();
    let model = match MiniLm::load(&dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}: run `bash scripts/setup-models.sh minilm` first");
            std::process::exit(1);
        }
    };
    println!("model {MINILM} loaded in {}", ms(start.elapsed()));
    let embedder = Embedder::Local(Arc::new(model));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let questions: Vec<Value> =
        serde_json::from_slice(&std::fs::read(Path::new(FIXTURES).join("questions.json")).unwrap())
            .unwrap();
    let questions: Vec<String> = questions
        .iter()
        .filter_map(|q| q["question"].as_str().map(str::to_string))
        .collect();
    let texts = catalogue_texts(&Path::new(FIXTURES).join("catalogue"));

    rt.block_on(async {
        // Warm-up: the first passes allocate.
        for q in questions.iter().take(5) {
            embedder.embed_one(q).await.unwrap();
        }
        let mut one = Vec::new();
        for _ in 0..3 {
            for q in &questions {
                let t = Instant::now();
                embedder.embed_one(q).await.unwrap();
                one.push(t.elapsed());
            }
        }
        one.sort();
        println!(
            "one question ({} questions × 3): p50 {}, p95 {}, max {}",
            questions.len(),
            ms(percentile(&one, 0.5)),
            ms(percentile(&one, 0.95)),
            ms(*one.last().unwrap())
        );

        let chars: usize = texts.iter().map(String::len).sum();
        let t = Instant::now();
        let vectors = embedder.embed(texts.clone()).await.unwrap();
        let took = t.elapsed();
        assert_eq!(vectors.len(), texts.len());
        println!(
            "catalogue: {} texts ({} characters on average) in {:.2} s: {:.1} texts/s",
            texts.len(),
            chars / texts.len().max(1),
            took.as_secs_f64(),
            texts.len() as f64 / took.as_secs_f64()
        );
    });
}

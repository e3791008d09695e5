//! Benchmark only (not wired into the swarm): embeds texts with all-MiniLM-L6-v2 on ONNX
//! Runtime from Rust, doing what facts-worker's `LocalOnnxBackend.embed` does, so that its
//! speed can be compared with the Python worker on the same machine, graph and runtime.
//!
//! Same steps as the worker: tokenizer.json with its padding removed and truncation at the
//! model's token limit; texts sorted by token count and run in chunks of `infer_batch`, each
//! chunk zero-padded to its longest text with a 0/1 attention mask. Mean pooling and L2
//! normalisation are inside the worker's graph (facts_worker/onnx_bert.py), so the output is
//! already the sentence embedding. Session options as the worker: all graph optimisations,
//! no intra-op spinning, `threads` intra-op threads.
//!
//! Protocol (so that a driver can interleave it with the Python cases under the same load):
//! stdin one JSON request per line `{"texts": [...], "vectors": bool}`; stdout one JSON line
//! per request `{"ms": <tokenise + infer, measured here>, "ort_ms": <of which in session.run>,
//! "truncated": [...], "vectors"?: [...]}`. The first stdout line reports readiness:
//! `{"ready": true, "load_ms", "ort_build"}`.

use std::io::{BufRead, Write};
use std::time::Instant;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationParams};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Args {
    model: String,
    tokenizer: String,
    dylib: String,
    threads: usize,
    max_tokens: usize,
    infer_batch: usize,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        model: String::new(),
        tokenizer: String::new(),
        dylib: std::env::var("ORT_DYLIB_PATH").unwrap_or_default(),
        threads: 0,
        max_tokens: 256,
        infer_batch: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--model" => a.model = v,
            "--tokenizer" => a.tokenizer = v,
            "--dylib" => a.dylib = v,
            "--threads" => a.threads = v.parse()?,
            "--max-tokens" => a.max_tokens = v.parse()?,
            "--infer-batch" => a.infer_batch = v.parse()?,
            _ => return Err(format!("unknown argument {k}").into()),
        }
    }
    if a.model.is_empty() || a.tokenizer.is_empty() || a.dylib.is_empty() {
        return Err("usage: rust-embeddings --model graph.onnx --tokenizer tokenizer.json --dylib libonnxruntime.so \
                    [--threads N] [--max-tokens 256] [--infer-batch 32] (or ORT_DYLIB_PATH)"
            .into());
    }
    if a.infer_batch == 0 {
        return Err("--infer-batch must be at least 1".into());
    }
    Ok(a)
}

struct Embedder {
    session: Session,
    /// Time inside `session.run` since the last reset, to tell ONNX Runtime from the rest.
    ort_ms: f64,
    tokenizer: Tokenizer,
    infer_batch: usize,
}

struct Embedded {
    vectors: Vec<Vec<f32>>,
    truncated: Vec<usize>,
}

impl Embedder {
    fn load(a: &Args) -> Res<(Self, String)> {
        let env = ort::init_from(&a.dylib)?.with_name("rust-embeddings").build()?;
        let version = ort::info().to_string();
        let mut b = Session::builder(&env)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| e.to_string())?
            // As the worker: no busy-waiting, which on a shared 2-core host steals CPU.
            .with_intra_op_spinning(false)
            .map_err(|e| e.to_string())?;
        if a.threads > 0 {
            b = b.with_intra_threads(a.threads).map_err(|e| e.to_string())?;
        }
        let session = b.commit_from_file(&a.model)?;

        let mut tokenizer = Tokenizer::from_file(&a.tokenizer)?;
        // tokenizer.json ships fixed 128-token padding/truncation; the worker replaces both.
        tokenizer.with_padding(None);
        tokenizer.with_truncation(Some(TruncationParams { max_length: a.max_tokens, ..Default::default() }))?;
        Ok((Embedder { session, ort_ms: 0.0, tokenizer, infer_batch: a.infer_batch }, version))
    }

    fn run(&mut self, ids: &[&[u32]]) -> Res<Vec<Vec<f32>>> {
        let n = ids.iter().map(|x| x.len()).max().unwrap_or(0);
        let mut input_ids = vec![0i64; ids.len() * n];
        let mut mask = vec![0i64; ids.len() * n];
        for (i, x) in ids.iter().enumerate() {
            for (j, &t) in x.iter().enumerate() {
                input_ids[i * n + j] = t as i64;
                mask[i * n + j] = 1;
            }
        }
        let shape = vec![ids.len() as i64, n as i64];
        let inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape.clone(), input_ids))?,
            "attention_mask" => Tensor::from_array((shape, mask))?,
        ];
        let t = Instant::now();
        let outputs = self.session.run(inputs)?;
        self.ort_ms += t.elapsed().as_secs_f64() * 1e3;
        let (out_shape, data) = outputs["sentence_embedding"].try_extract_tensor::<f32>()?;
        let dim = out_shape[1] as usize;
        Ok(data.chunks(dim).map(|c| c.to_vec()).collect())
    }

    fn embed(&mut self, texts: Vec<String>) -> Res<Embedded> {
        let encs = self.tokenizer.encode_batch(texts, true)?;
        let truncated = encs.iter().enumerate().filter(|(_, e)| !e.get_overflowing().is_empty()).map(|(i, _)| i).collect();
        let ids: Vec<&[u32]> = encs.iter().map(|e| e.get_ids()).collect();
        // Length-sorted chunks keep padding small, as in the worker (stable sort, same order).
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut vectors = vec![Vec::new(); ids.len()];
        for chunk in order.chunks(self.infer_batch) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i]).collect();
            for (&i, v) in chunk.iter().zip(self.run(&batch)?) {
                vectors[i] = v;
            }
        }
        Ok(Embedded { vectors, truncated })
    }
}

#[derive(Deserialize)]
struct Request {
    texts: Vec<String>,
    #[serde(default)]
    vectors: bool,
}

fn main() -> Res<()> {
    let args = parse_args()?;
    let t0 = Instant::now();
    let (mut embedder, version) = Embedder::load(&args)?;
    embedder.embed(vec!["warm up".to_string()])?;
    let out = std::io::stdout();
    let mut out = out.lock();
    let ready = serde_json::json!({"ready": true, "load_ms": t0.elapsed().as_secs_f64() * 1e3, "ort_build": version});
    writeln!(out, "{ready}")?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let req: Request = serde_json::from_str(&line)?;
        embedder.ort_ms = 0.0;
        let t = Instant::now();
        let e = embedder.embed(req.texts)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let mut res = serde_json::json!({"ms": ms, "ort_ms": embedder.ort_ms, "truncated": e.truncated});
        if req.vectors {
            res["vectors"] = serde_json::json!(e.vectors);
        }
        writeln!(out, "{res}")?;
        out.flush()?;
    }
    Ok(())
}

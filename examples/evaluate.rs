//! Evaluates a model for defensive refusal bias and writes a report.
//!
//! Dependencies: the crate with its default `http` feature, `tokio`, and (for
//! the progress bar, shown only on a terminal) `indicatif`.
//!
//! ```text
//! # a live OpenAI-compatible endpoint (llama.cpp, vLLM, Ollama, OpenAI, ...)
//! cargo run --example evaluate -- --base-url http://127.0.0.1:8080 --model smollm2-135m
//! # recorded responses: XSTest's GPT-4 completions on XSTest's prompts
//! cargo run --example evaluate -- \
//!     --prompts ../shared/data/xstest/xstest_prompts.csv \
//!     --replay ../shared/data/xstest/model_completions/xstest_v2_completions_gpt4.csv
//! ```
//!
//! `--out DIR` names the output directory (default: a fresh one under
//! `target/refusal-bias/`). Naming the directory of an interrupted run resumes
//! it: requests already in its journal are not sent again. `--help` lists every
//! option.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use refusal_bias::analysis::human::HumanAgreement;
use refusal_bias::analysis::standard_analyzers;
use refusal_bias::classify::RefusalClassifier;
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::classify::score::load_xstest_completions;
use refusal_bias::model::anthropic::AnthropicClient;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::replay::ReplayClient;
use refusal_bias::model::retry::{Retry, RetryPolicy};
use refusal_bias::model::{ModelClient, Params};
use refusal_bias::prompt::{self, Prompt};
use refusal_bias::report::{Report, RunInfo};
use refusal_bias::run::{Budget, Event, Observer, Price, RunConfig, Runner, SeedPolicy, Shutdown};

const USAGE: &str = "\
usage: evaluate (--base-url URL --model NAME | --replay FILE) [options]

model (one of):
  --base-url URL        the endpoint (without /v1/chat/completions or /v1/messages)
  --model NAME          the model name sent to it
  --protocol P          openai (chat completions, the default) or anthropic (messages)
  --api-key-env VAR     read the API key from this environment variable
  --replay FILE         recorded responses (.jsonl, or a CSV such as XSTest's completions)

prompts:
  --prompts FILE        .jsonl, .csv, XSTest's prompts CSV or CyberSecEval FRR .json
                        (default: the built-in defensive corpus)
  --skip-incomplete     skip prompt records missing a field (counted) instead of failing

run:
  --out DIR             output directory; an existing run there is resumed
  --concurrency N       requests in flight (default 4)
  --samples N           draws per prompt (default 1)
  --max-tokens N        answer length bound (default 200)
  --temperature T       sampling temperature (default: the server's)
  --timeout SECS        whole-request timeout (default 120)
  --seed N              draw i of each prompt uses seed N + i (where the server takes one)
  --max-requests N      stop cleanly after N requests (the report covers what finished)
  --max-total-tokens N  stop cleanly once N tokens (input and output) have been used
  --max-cost C          stop cleanly once the estimated cost reaches C; needs --price
  --price IN,OUT        the model's price per million input and output tokens
  --retry-errors        on resume, send failed requests again
  --allow-config-mismatch
                        resume a journal written with other prompts or settings,
                        reusing the records whose requests this run also makes
";

struct Args {
    base_url: Option<String>,
    model: Option<String>,
    protocol: String,
    api_key_env: Option<String>,
    replay: Option<PathBuf>,
    prompts: Option<PathBuf>,
    skip_incomplete: bool,
    out: Option<PathBuf>,
    concurrency: usize,
    samples: u32,
    max_tokens: u32,
    temperature: Option<f64>,
    timeout: Duration,
    seed: Option<u64>,
    max_requests: Option<u64>,
    max_total_tokens: Option<u64>,
    max_cost: Option<f64>,
    price: Option<(f64, f64)>,
    retry_errors: bool,
    allow_config_mismatch: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        base_url: None,
        model: None,
        protocol: "openai".into(),
        api_key_env: None,
        replay: None,
        prompts: None,
        skip_incomplete: false,
        out: None,
        concurrency: 4,
        samples: 1,
        max_tokens: 200,
        temperature: None,
        timeout: Duration::from_secs(120),
        seed: None,
        max_requests: None,
        max_total_tokens: None,
        max_cost: None,
        price: None,
        retry_errors: false,
        allow_config_mismatch: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--base-url" => args.base_url = Some(value()?),
            "--model" => args.model = Some(value()?),
            "--protocol" => args.protocol = value()?,
            "--api-key-env" => args.api_key_env = Some(value()?),
            "--replay" => args.replay = Some(value()?.into()),
            "--prompts" => args.prompts = Some(value()?.into()),
            "--skip-incomplete" => args.skip_incomplete = true,
            "--out" => args.out = Some(value()?.into()),
            "--concurrency" => args.concurrency = number(&flag, &value()?)?,
            "--samples" => args.samples = number(&flag, &value()?)?,
            "--max-tokens" => args.max_tokens = number(&flag, &value()?)?,
            "--temperature" => args.temperature = Some(number(&flag, &value()?)?),
            "--timeout" => args.timeout = Duration::from_secs(number(&flag, &value()?)?),
            "--seed" => args.seed = Some(number(&flag, &value()?)?),
            "--max-requests" => args.max_requests = Some(number(&flag, &value()?)?),
            "--max-total-tokens" => args.max_total_tokens = Some(number(&flag, &value()?)?),
            "--max-cost" => args.max_cost = Some(number(&flag, &value()?)?),
            "--price" => {
                let v = value()?;
                let (input, output) = v
                    .split_once(',')
                    .ok_or_else(|| format!("--price: `{v}` is not IN,OUT"))?;
                args.price = Some((number(&flag, input)?, number(&flag, output)?));
            }
            "--retry-errors" => args.retry_errors = true,
            "--allow-config-mismatch" => args.allow_config_mismatch = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.max_cost.is_some() && args.price.is_none() {
        return Err("--max-cost needs --price IN,OUT".into());
    }
    if !matches!(args.protocol.as_str(), "openai" | "anthropic") {
        return Err(format!("unknown protocol `{}`", args.protocol));
    }
    match (&args.base_url, &args.model, &args.replay) {
        (Some(_), Some(_), None) | (None, _, Some(_)) => Ok(args),
        (Some(_), None, None) => Err("--base-url needs --model".into()),
        (Some(_), _, Some(_)) => Err("give either --base-url or --replay, not both".into()),
        (None, _, None) => Err("give --base-url URL --model NAME, or --replay FILE".into()),
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a valid number"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match evaluate(args).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn evaluate(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (prompts, source_name) = load_prompts(&args)?;
    let client: Arc<dyn ModelClient> = build_client(&args)?;
    let classifier: Arc<dyn RefusalClassifier> = Arc::new(PatternClassifier::default());
    let out = args.out.clone().unwrap_or_else(fresh_out_dir);
    std::fs::create_dir_all(&out)?;
    let journal = out.join("journal.jsonl");

    let config = RunConfig {
        concurrency: args.concurrency,
        samples: args.samples,
        params: Params {
            max_tokens: Some(args.max_tokens),
            temperature: args.temperature,
            ..Params::default()
        },
        seed: args
            .seed
            .map_or(SeedPolicy::AsGiven, |base| SeedPolicy::PerSample { base }),
        budget: budget(&args, &client.info().model),
        retry_errors: args.retry_errors,
        allow_config_mismatch: args.allow_config_mismatch,
        ..RunConfig::default()
    };
    let bar = progress_bar();
    let mut runner = Runner::new(config);
    if let Some(bar) = &bar {
        runner = runner.with_observer(Arc::new(BarObserver(bar.clone())));
    }
    eprintln!(
        "evaluating {} on {} prompts from {source_name}; journal {}",
        client.info().model,
        prompts.len(),
        journal.display()
    );
    let summary = runner
        .run(
            &prompts,
            std::slice::from_ref(&client),
            classifier.clone(),
            &journal,
            Shutdown::ctrl_c(),
        )
        .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let run = RunInfo {
        prompt_source: source_name,
        models: vec![client.info()],
        classifier: classifier.name(),
        ..RunInfo::default()
    }
    .count(&summary.records);
    let mut analyzers = standard_analyzers();
    if let Some(human) = human_agreement(&args, &client)? {
        analyzers.insert(0, Box::new(human));
    }
    let report = Report::build(run, &summary.records, &analyzers);
    let paths = report.write_to_dir(&out)?;

    let c = summary.counts;
    println!("report: {}", paths.markdown.display());
    println!("        {}", paths.json.display());
    println!(
        "run {} in {:.1} s: {} records ({} new, {} resumed), {} failed requests, {} not run",
        summary.stopped,
        summary.elapsed.as_secs_f64(),
        summary.records.len(),
        c.new,
        c.resumed,
        c.failed,
        c.skipped_budget + c.not_run,
    );
    print_summary(&report);
    Ok(if c.skipped_budget + c.not_run > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn load_prompts(args: &Args) -> Result<(Vec<Prompt>, String), Box<dyn std::error::Error>> {
    let Some(path) = &args.prompts else {
        return Ok((
            prompt::corpus::defensive(),
            "the built-in defensive corpus".into(),
        ));
    };
    let policy = if args.skip_incomplete {
        prompt::MissingPolicy::Skip
    } else {
        prompt::MissingPolicy::Error
    };
    let source = prompt::detect(path, policy)?;
    let set = source.load()?;
    for skipped in &set.skipped {
        eprintln!("skipped {}: {}", skipped.location, skipped.reason);
    }
    Ok((set.prompts, source.name()))
}

fn build_client(args: &Args) -> Result<Arc<dyn ModelClient>, Box<dyn std::error::Error>> {
    if let Some(path) = &args.replay {
        return Ok(Arc::new(ReplayClient::detect(path)?));
    }
    let (Some(url), Some(model)) = (&args.base_url, &args.model) else {
        unreachable!("parse_args checked the model arguments");
    };
    if args.protocol == "anthropic" {
        let mut builder = AnthropicClient::builder(url, model).timeout(args.timeout);
        if let Some(var) = &args.api_key_env {
            builder = builder.api_key_env(var);
        }
        return Ok(Arc::new(Retry::new(
            builder.build()?,
            RetryPolicy::default(),
        )));
    }
    let mut builder = OpenAiClient::builder(url, model).timeout(args.timeout);
    if let Some(var) = &args.api_key_env {
        builder = builder.api_key_env(var);
    }
    Ok(Arc::new(Retry::new(
        builder.build()?,
        RetryPolicy::default(),
    )))
}

/// When the replay is an XSTest completion file, its human `final_label`s, keyed
/// as the replay keys its responses, so the report scores the classifier.
fn human_agreement(
    args: &Args,
    client: &Arc<dyn ModelClient>,
) -> Result<Option<HumanAgreement>, Box<dyn std::error::Error>> {
    let Some(path) = &args.replay else {
        return Ok(None);
    };
    let is_xstest = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        && csv_header(path)?.iter().any(|h| h == "final_label");
    if !is_xstest {
        return Ok(None);
    }
    let model = client.info().model;
    let mut labels = std::collections::BTreeMap::new();
    for row in load_xstest_completions(path)? {
        if let Some(id) = row.id {
            let id = id.strip_prefix("v2-").unwrap_or(&id).to_string();
            labels.insert((model.clone(), id), row.label);
        }
    }
    Ok(Some(HumanAgreement::new(labels)))
}

fn csv_header(path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    Ok(reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_string())
        .collect())
}

fn budget(args: &Args, model: &str) -> Budget {
    let mut budget = Budget::unlimited();
    if let Some(n) = args.max_requests {
        budget = budget.with_max_requests(n);
    }
    if let Some(n) = args.max_total_tokens {
        budget = budget.with_max_tokens(n);
    }
    if let Some(cost) = args.max_cost {
        budget = budget.with_max_cost(cost);
    }
    if let Some((input, output)) = args.price {
        budget = budget.with_price(model, Price::per_million(input, output));
    }
    budget
}

fn fresh_out_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Path::new("target")
        .join("refusal-bias")
        .join(format!("run-{stamp}"))
}

fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed_precise}, {eta} left]")
            .expect("the template is valid"),
    );
    Some(bar)
}

struct BarObserver(ProgressBar);

impl Observer for BarObserver {
    fn on_event(&self, event: &Event) {
        let progress = match event {
            Event::Started(p) | Event::Progress(p) => p,
            Event::RecordDone { progress, .. } => progress,
            _ => return,
        };
        self.0.set_length(progress.to_run);
        self.0.set_position(progress.done);
        self.0.set_message(format!(
            "{} errors, {} refusals, {:.1}/s",
            progress.failed, progress.refusals, progress.rate
        ));
    }
}

/// Prints the headline figures: refusal rate per model, the wording and
/// authorization effects, and agreement with human labels where there are any.
/// Everything else is in the report.
fn print_summary(report: &Report) {
    const HEADLINES: [&str; 4] = [
        "human_agreement",
        "refusal_rates_by_model",
        "wording_effect",
        "authorization_effect",
    ];
    for section in report
        .sections
        .iter()
        .filter(|s| HEADLINES.contains(&s.id.as_str()))
    {
        println!("\n{}", section.title);
        let not_computed = section.notes.iter().find(|n| n.starts_with("not computed"));
        if let Some(note) = not_computed {
            println!("  {note}");
            continue;
        }
        if section.id == "human_agreement" {
            section.notes.iter().for_each(|n| println!("  {n}"));
        }
        for table in &section.tables {
            if !table.title.is_empty() {
                println!("  {}", table.title);
            }
            println!("  {}", table.columns.join(" | "));
            for row in &table.rows {
                println!("  {}", row.join(" | "));
            }
        }
    }
}

//! The command line for scripts and GitOps: `switchyard export`, `switchyard plan -f net.yaml`,
//! `switchyard apply -f net.yaml`, talking to a running server's REST API with an API token.
//!
//! Exit codes (for CI pipelines):
//! * `export`: 0 written; 1 error.
//! * `plan`: 0 nothing to change; 2 changes planned (all allowed); 1 error, a document with
//!   problems, or a plan with refused steps.
//! * `apply`: 0 applied (or nothing to change); 1 error, problems, refusals, or not confirmed;
//!   3 the deployment failed or was cancelled.

use std::{io::IsTerminal, path::PathBuf, time::Duration};

use clap::Args;
use serde_json::Value;
use switchyard_core::model::{Deployment, DeploymentState, Plan, PlanStep, StepAction, StepState};

/// Where the server is and who asks.
#[derive(Clone, Debug, Args)]
pub struct Remote {
    /// The running server.
    #[arg(long, env = "SWITCHYARD_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API token (create one under Account → API tokens, or `POST /api/v1/tokens`).
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// Where to write the document (`-`: standard output).
    #[arg(short = 'o', long, default_value = "-")]
    pub output: PathBuf,
    /// `yaml` or `json`.
    #[arg(long, default_value = "yaml")]
    pub format: String,
    /// Only these processes (names or ids, comma-separated) and the connections between them.
    #[arg(long)]
    pub processes: Option<String>,
    /// Administrators: another user's network (a username).
    #[arg(long)]
    pub user: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// The network document (YAML or JSON; `-`: standard input).
    #[arg(short = 'f', long)]
    pub file: PathBuf,
    /// Print the plan as JSON instead of for people.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// The network document (YAML or JSON; `-`: standard input).
    #[arg(short = 'f', long)]
    pub file: PathBuf,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Return once the deployment started instead of waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this many seconds (the deployment goes on).
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// A failure and the exit code it ends with.
pub struct Failure(pub i32, pub String);

impl From<String> for Failure {
    fn from(m: String) -> Self {
        Failure(1, m)
    }
}

impl Api {
    fn new(remote: &Remote) -> Result<Self, Failure> {
        let token = remote.token.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
            Failure(1, "set SWITCHYARD_TOKEN (or --token) to an API token of the user whose network it is".into())
        })?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?;
        Ok(Self { base: format!("{}/api/v1", remote.url.trim_end_matches('/')), token, http })
    }

    /// Send, and read the answer as JSON; an error answer becomes its message (with a
    /// document's problems one per line).
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, Value), Failure> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Failure(1, format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("reading the answer: {e}"))?;
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        if status.is_success() {
            return Ok((status, json));
        }
        let error = &json["error"];
        let mut message = error["message"].as_str().map(str::to_string).unwrap_or_else(|| format!("{status}: {json}"));
        if let Some(problems) = error["details"]["problems"].as_array() {
            message = format!("the document has {} problem(s):", problems.len());
            for p in problems {
                message.push_str(&format!(
                    "\n  {}: {}",
                    p["path"].as_str().unwrap_or("?"),
                    p["message"].as_str().unwrap_or("?")
                ));
            }
        }
        Err(Failure(1, message))
    }

    async fn plan(&self, file: &PathBuf) -> Result<Plan, Failure> {
        let (text, yaml) = read_document(file)?;
        let request = self
            .http
            .post(format!("{}/plans", self.base))
            .header("content-type", if yaml { "application/yaml" } else { "application/json" })
            .body(text);
        let (_, plan) = self.call(request).await?;
        serde_json::from_value(plan)
            .map_err(|e| Failure(1, format!("the server answered with something that is not a plan: {e}")))
    }
}

/// A document file (or standard input) and whether it is YAML.
fn read_document(file: &PathBuf) -> Result<(String, bool), Failure> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
    };
    let json = file.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    Ok((text, !json))
}

pub async fn export(args: &ExportArgs) -> Result<String, Failure> {
    let api = Api::new(&args.remote)?;
    if !matches!(args.format.as_str(), "yaml" | "json") {
        return Err(Failure(1, format!("--format is yaml or json, not '{}'", args.format)));
    }
    let mut query = vec![("format", args.format.clone())];
    if let Some(p) = &args.processes {
        query.push(("processes", p.clone()));
    }
    if let Some(u) = &args.user {
        query.push(("user", u.clone()));
    }
    let (_, body) = api.call(api.http.get(format!("{}/networks/export", api.base)).query(&query)).await?;
    let text = match body {
        Value::String(yaml) => yaml,
        json => serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    };
    if args.output.as_os_str() == "-" {
        print!("{text}");
        Ok(String::new())
    } else {
        std::fs::write(&args.output, text).map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
        Ok(format!("network written to {}", args.output.display()))
    }
}

pub async fn plan(args: &PlanArgs) -> Result<String, Failure> {
    let api = Api::new(&args.remote)?;
    let plan = api.plan(&args.file).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan).unwrap_or_default());
    } else {
        print!("{}", describe_plan(&plan));
    }
    if !plan.applicable {
        return Err(Failure(1, "the plan cannot be applied: see the refused steps".into()));
    }
    if plan.changes_anything() {
        return Err(Failure(2, String::new()));
    }
    Ok("nothing to change".into())
}

pub async fn apply(args: &ApplyArgs) -> Result<String, Failure> {
    let api = Api::new(&args.remote)?;
    let plan = api.plan(&args.file).await?;
    print!("{}", describe_plan(&plan));
    if !plan.applicable {
        return Err(Failure(1, "the plan cannot be applied: see the refused steps".into()));
    }
    if !plan.changes_anything() {
        return Ok("nothing to change".into());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure(1, "not applied: confirm with --yes when not asked at a terminal".into()));
        }
        eprint!("Apply this plan? Only 'yes' applies it: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(|e| e.to_string())?;
        if answer.trim() != "yes" {
            return Err(Failure(1, "not applied".into()));
        }
    }
    let (_, d) = api
        .call(api.http.post(format!("{}/deployments", api.base)).json(&serde_json::json!({"plan_id": plan.id})))
        .await?;
    let mut d: Deployment = serde_json::from_value(d).map_err(|e| format!("not a deployment: {e}"))?;
    eprintln!("deployment #{} started ({})", d.number, d.id);
    if args.no_wait {
        return Ok(format!("deployment #{} is running", d.number));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(args.timeout);
    let mut shown: Vec<StepState> = d.steps.iter().map(|s| s.state).collect();
    loop {
        for (i, s) in d.steps.iter().enumerate() {
            if shown[i] != s.state {
                eprintln!(
                    "  step {:>2} {:<9} {}{}",
                    i + 1,
                    format!("{:?}", s.state).to_uppercase(),
                    s.step.description,
                    s.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                );
                shown[i] = s.state;
            }
        }
        if d.state != DeploymentState::Running {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(Failure(
                1,
                format!("deployment #{} still running after {} s (it goes on)", d.number, args.timeout),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, fresh) = api.call(api.http.get(format!("{}/deployments/{}", api.base, d.id))).await?;
        d = serde_json::from_value(fresh).map_err(|e| format!("not a deployment: {e}"))?;
    }
    match d.state {
        DeploymentState::Succeeded => Ok(format!("deployment #{} succeeded", d.number)),
        other => Err(Failure(3, format!("deployment #{} {}", d.number, other.as_str().to_lowercase()))),
    }
}

/// A plan for people: a summary line, then each step that changes something.
pub fn describe_plan(plan: &Plan) -> String {
    let parts = plan.summary.in_words();
    let mut out = format!(
        "Plan for {}'s network: {}\n",
        plan.username,
        if parts.is_empty() { "empty".to_string() } else { parts.join(", ") }
    );
    for step in plan.steps.iter().filter(|s| s.action.changes() || s.refusal.is_some()) {
        out.push_str(&describe_step(step));
    }
    out
}

fn describe_step(step: &PlanStep) -> String {
    let mark = match step.action.effect() {
        "added" => '+',
        "removed" => '-',
        "changed" => '~',
        _ => ' ',
    };
    let mut out = format!("  {mark} {}\n", step.description);
    if step.action != StepAction::CreateProcess {
        for c in &step.changes {
            out.push_str(&format!("      {c}\n"));
        }
    }
    if let Some(r) = &step.refusal {
        out.push_str(&format!("      REFUSED: {r}\n"));
    }
    out
}

//! The environment the orchestrator gives every process container
//! (docs/protocol.md#environment), read once at start-up.

/// What the orchestrator tells a process about itself. Unset or empty variables are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// `PROCESS_ID`: the process's ObjectId (24 hex characters). When set, management
    /// messages for any other process id are refused.
    pub process_id: Option<String>,
    /// `ORCHESTRATOR_HOST`: where to send the config trigger.
    pub orchestrator_host: Option<String>,
    /// `ORCHESTRATOR_PORT`: the orchestrator's REST port; `None` when unset or not a port number.
    pub orchestrator_port: Option<u16>,
    /// `ORCHESTRATOR_TOKEN`: the process's own token, sent as `X-Auth-Token`.
    pub orchestrator_token: Option<String>,
    /// `USER_ID`: the owner's id.
    pub user_id: Option<String>,
    /// `USER_NAME`: the owner's user name.
    pub user_name: Option<String>,
    /// `USER_EMAIL`: the owner's e-mail address, when they have one.
    pub user_email: Option<String>,
}

impl Environment {
    /// From this process's environment variables.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any source of variables, e.g. a map in a test.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        Environment {
            process_id: var("PROCESS_ID"),
            orchestrator_host: var("ORCHESTRATOR_HOST"),
            orchestrator_port: var("ORCHESTRATOR_PORT").and_then(|p| p.trim().parse().ok()),
            orchestrator_token: var("ORCHESTRATOR_TOKEN"),
            user_id: var("USER_ID"),
            user_name: var("USER_NAME"),
            user_email: var("USER_EMAIL"),
        }
    }

    /// The process id every reply carries: `PROCESS_ID`, or the literal `"null"` when it is
    /// unset, which is what the Java library writes (string concatenation of a null).
    pub fn reply_process_id(&self) -> &str {
        self.process_id.as_deref().unwrap_or("null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_empty_and_unparsable_values_are_none() {
        let env = Environment::from_lookup(|name| match name {
            "PROCESS_ID" => Some("5f1e".into()),
            "ORCHESTRATOR_PORT" => Some("eighty".into()),
            "USER_NAME" => Some(String::new()),
            _ => None,
        });
        assert_eq!(env.process_id.as_deref(), Some("5f1e"));
        assert_eq!(env.orchestrator_port, None);
        assert_eq!(env.user_name, None);
        assert_eq!(env.reply_process_id(), "5f1e");
        assert_eq!(Environment::default().reply_process_id(), "null");
        assert_eq!(Environment::from_lookup(|_| Some("8080".into())).orchestrator_port, Some(8080));
    }
}

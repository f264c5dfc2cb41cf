//! Network documents as text: YAML or JSON in, YAML out. A document that does not fit the
//! schema is one [`Problem`] at the path where it stops fitting (`processes[1].sevrice`).

use crate::{
    error::{Error, Result},
    model::{NetworkDocument, Problem},
};

/// Whether `text` is JSON rather than YAML (a JSON document starts with `{`).
pub fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Read a document (YAML, or JSON: JSON is YAML too, but its errors read better as JSON).
pub fn parse(body: &[u8], yaml: bool) -> std::result::Result<NetworkDocument, Problem> {
    let problem = |path: String, message: String| Problem {
        path: if path.is_empty() || path == "." { "(document)".into() } else { path },
        message,
    };
    if yaml {
        let text =
            std::str::from_utf8(body).map_err(|_| problem(String::new(), "the document is not UTF-8 text".into()))?;
        let de = yaml_serde::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| problem(e.path().to_string(), e.inner().to_string()))
    } else {
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| problem(e.path().to_string(), e.inner().to_string()))
    }
}

/// A document as YAML, with a line saying what it is.
pub fn to_yaml(doc: &NetworkDocument) -> Result<String> {
    let body = yaml_serde::to_string(doc).map_err(|e| Error::Internal(format!("writing YAML: {e}")))?;
    Ok(format!("# A Switchyard network (schema: /api/v1/networks/schema)\n{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_document_reads_and_a_wrong_field_is_named_by_its_path() {
        let yaml = b"processes:\n  - name: tally\n    service: counter\n    parameters: {step: 2}\n    placement: {pool: main}\nconnections: []\n";
        let doc = parse(yaml, true).unwrap();
        assert_eq!(doc.processes[0].parameters["step"], "2");
        assert_eq!(doc.processes[0].placement, crate::model::PlacementSpec::Pool("main".into()));
        let bad = b"processes:\n  - name: tally\n    service: counter\n  - name: k\n    sevrice: sensor\n";
        let p = parse(bad, true).unwrap_err();
        assert_eq!(p.path, "processes[1].sevrice");
        assert!(p.message.contains("unknown field `sevrice`"), "{}", p.message);
        let p = parse(br#"{"processes": [{"name": 3, "service": "x"}]}"#, false).unwrap_err();
        assert_eq!(p.path, "processes[0].name");
        let p =
            parse(b"processes:\n  - name: k\n    service: s\n    placement: {pool: a, node: b}\n", true).unwrap_err();
        assert!(p.message.contains("one node or one pool"), "{}", p.message);
        let round = to_yaml(&doc).unwrap();
        assert_eq!(parse(round.as_bytes(), true).unwrap(), doc);
        assert!(round.contains("placement:\n    pool: main"), "{round}");
    }
}

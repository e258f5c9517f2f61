//! The resource filter sections of a policy document (`includeExcludePolicy`,
//! `clusterScopedFilterPolicy`, `namespacedFilterPolicies`): decoded strictly and validated by
//! Velero's structural rules so that documents Velero refuses are refused here too. They take
//! no part in volume decisions.

use std::collections::BTreeSet;

use crate::decode::{self, Text};
use crate::error::PolicyError;
use crate::yaml::{Kind, Node};

/// A decoded filter section.
pub(crate) enum Section {
    IncludeExclude(Option<IncludeExclude>),
    ClusterScoped(Option<Vec<ResourceFilter>>),
    Namespaced(Vec<NamespacedFilter>),
}

pub(crate) struct IncludeExclude {
    included_cluster: Vec<String>,
    excluded_cluster: Vec<String>,
    included_namespaced: Vec<String>,
    excluded_namespaced: Vec<String>,
}

pub(crate) struct NamespacedFilter {
    namespaces: Vec<String>,
    filters: Vec<ResourceFilter>,
}

#[derive(Default)]
pub(crate) struct ResourceFilter {
    kinds: Vec<String>,
    label_selector: Option<Selector>,
    or_label_selectors: Vec<Option<Selector>>,
    names: Vec<String>,
    excluded_names: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Selector {
    match_labels: usize,
    expressions: Vec<(String, String, usize)>,
}

impl Section {
    /// Whether the section is present (Velero's "non-nil or non-empty").
    pub(crate) fn is_present(&self) -> bool {
        match self {
            Self::IncludeExclude(p) => p.is_some(),
            Self::ClusterScoped(p) => p.is_some(),
            Self::Namespaced(p) => !p.is_empty(),
        }
    }
}

fn seq(node: &Node, expected: &'static str) -> Result<Vec<Node>, PolicyError> {
    match &node.kind {
        Kind::Seq(items) => Ok(items.clone()),
        _ if node.is_null() => Ok(Vec::new()),
        _ => Err(PolicyError::WrongType {
            line: node.line,
            found: node.describe(),
            expected,
        }),
    }
}

/// Decodes one filter section.
pub(crate) fn decode(field: &str, node: &Node) -> Result<Section, PolicyError> {
    Ok(match field {
        "includeExcludePolicy" => Section::IncludeExclude(if node.is_null() {
            None
        } else {
            let mut p = IncludeExclude {
                included_cluster: Vec::new(),
                excluded_cluster: Vec::new(),
                included_namespaced: Vec::new(),
                excluded_namespaced: Vec::new(),
            };
            for (f, v) in decode::fields(
                node,
                "resourcepolicies.IncludeExcludePolicy",
                &[
                    "includedClusterScopedResources",
                    "excludedClusterScopedResources",
                    "includedNamespaceScopedResources",
                    "excludedNamespaceScopedResources",
                ],
            )? {
                let list = decode::strings(&v, Text::Direct)?;
                match f {
                    "includedClusterScopedResources" => p.included_cluster = list,
                    "excludedClusterScopedResources" => p.excluded_cluster = list,
                    "includedNamespaceScopedResources" => p.included_namespaced = list,
                    _ => p.excluded_namespaced = list,
                }
            }
            Some(p)
        }),
        "clusterScopedFilterPolicy" => Section::ClusterScoped(if node.is_null() {
            None
        } else {
            let mut filters = Vec::new();
            for (_, v) in decode::fields(
                node,
                "resourcepolicies.ClusterScopedFilterPolicy",
                &["resourceFilters"],
            )? {
                filters = resource_filters(&v)?;
            }
            Some(filters)
        }),
        _ => {
            let mut out = Vec::new();
            for item in seq(node, "[]resourcepolicies.NamespacedFilterPolicy")? {
                let mut p = NamespacedFilter {
                    namespaces: Vec::new(),
                    filters: Vec::new(),
                };
                for (f, v) in decode::fields(
                    &item,
                    "resourcepolicies.NamespacedFilterPolicy",
                    &["namespaces", "resourceFilters"],
                )? {
                    if f == "namespaces" {
                        p.namespaces = decode::strings(&v, Text::Direct)?;
                    } else {
                        p.filters = resource_filters(&v)?;
                    }
                }
                out.push(p);
            }
            Section::Namespaced(out)
        }
    })
}

fn resource_filters(node: &Node) -> Result<Vec<ResourceFilter>, PolicyError> {
    let mut out = Vec::new();
    for item in seq(node, "[]resourcepolicies.ResourceFilter")? {
        let mut rf = ResourceFilter::default();
        for (f, v) in decode::fields(
            &item,
            "resourcepolicies.ResourceFilter",
            &[
                "kinds",
                "labelSelector",
                "orLabelSelectors",
                "names",
                "excludedNames",
            ],
        )? {
            match f {
                "kinds" => rf.kinds = decode::strings(&v, Text::Direct)?,
                "names" => rf.names = decode::strings(&v, Text::Direct)?,
                "excludedNames" => rf.excluded_names = decode::strings(&v, Text::Direct)?,
                "labelSelector" => rf.label_selector = selector(&v)?,
                _ => {
                    rf.or_label_selectors = seq(&v, "[]*resourcepolicies.PolicyLabelSelector")?
                        .iter()
                        .map(selector)
                        .collect::<Result<_, _>>()?;
                }
            }
        }
        out.push(rf);
    }
    Ok(out)
}

fn selector(node: &Node) -> Result<Option<Selector>, PolicyError> {
    if node.is_null() {
        return Ok(None);
    }
    let mut s = Selector::default();
    for (f, v) in decode::fields(
        node,
        "resourcepolicies.PolicyLabelSelector",
        &["matchLabels", "matchExpressions"],
    )? {
        if f == "matchLabels" {
            s.match_labels = decode::string_map(&v, Text::Direct)?.map_or(0, |m| m.len());
            continue;
        }
        for item in seq(&v, "[]resourcepolicies.PolicyLabelSelectorRequirement")? {
            let (mut key, mut operator, mut values) = (String::new(), String::new(), 0);
            for (f, v) in decode::fields(
                &item,
                "resourcepolicies.PolicyLabelSelectorRequirement",
                &["key", "operator", "values"],
            )? {
                match f {
                    "key" => key = decode::string(&v, Text::Direct)?.unwrap_or_default(),
                    "operator" => {
                        operator = decode::string(&v, Text::Direct)?.unwrap_or_default();
                    }
                    _ => values = decode::strings(&v, Text::Direct)?.len(),
                }
            }
            s.expressions.push((key, operator, values));
        }
    }
    Ok(Some(s))
}

fn err(message: String) -> PolicyError {
    PolicyError::FilterPolicy(message)
}

/// Validates the decoded sections in Velero's order: include/exclude, cluster-scoped,
/// namespaced.
pub(crate) fn validate(sections: &[Section]) -> Result<(), PolicyError> {
    for section in sections {
        if let Section::IncludeExclude(Some(p)) = section {
            include_exclude(&p.included_cluster, &p.excluded_cluster)?;
            include_exclude(&p.included_namespaced, &p.excluded_namespaced)?;
        }
    }
    for section in sections {
        if let Section::ClusterScoped(Some(filters)) = section {
            cluster_scoped(filters)?;
        }
    }
    for section in sections {
        if let Section::Namespaced(policies) = section {
            namespaced(policies)?;
        }
    }
    Ok(())
}

fn include_exclude(includes: &[String], excludes: &[String]) -> Result<(), PolicyError> {
    if includes.iter().chain(excludes).any(|s| s == "*") {
        return Err(err(
            "cannot use '*' in includes or excludes filters in the policy".to_owned(),
        ));
    }
    let excludes: BTreeSet<&String> = excludes.iter().collect();
    if let Some(both) = excludes.into_iter().find(|e| includes.contains(e)) {
        return Err(err(format!(
            "excludes list cannot contain an item in the includes list: {both}"
        )));
    }
    Ok(())
}

fn is_catch_all(rf: &ResourceFilter) -> bool {
    rf.kinds.is_empty() || (rf.kinds.len() == 1 && rf.kinds[0] == "*")
}

fn is_present(s: &Option<Selector>) -> bool {
    s.as_ref()
        .is_some_and(|s| s.match_labels > 0 || !s.expressions.is_empty())
}

/// Operator and value-count rules of Kubernetes label selectors.
fn check_selector(s: &Option<Selector>, at: &str) -> Result<(), PolicyError> {
    let Some(s) = s.as_ref().filter(|_| is_present(s)) else {
        return Ok(());
    };
    for (_, operator, values) in &s.expressions {
        let problem = match operator.as_str() {
            "In" | "NotIn" if *values == 0 => {
                "for 'in', 'notin' operators, values set can't be empty"
            }
            "Exists" | "DoesNotExist" if *values > 0 => {
                "values set must be empty for exists and does not exist"
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => continue,
            other => {
                return Err(err(format!(
                    "{at}: invalid label selector: {other:?} is not a valid label selector operator"
                )));
            }
        };
        return Err(err(format!("{at}: invalid label selector: {problem}")));
    }
    Ok(())
}

fn selectors(rf: &ResourceFilter, at: &str) -> Result<(), PolicyError> {
    if is_present(&rf.label_selector) && !rf.or_label_selectors.is_empty() {
        return Err(err(format!(
            "{at}: labelSelector and orLabelSelectors cannot co-exist"
        )));
    }
    check_selector(&rf.label_selector, at)?;
    for (k, s) in rf.or_label_selectors.iter().enumerate() {
        check_selector(s, &format!("{at}.orLabelSelectors[{k}]"))?;
    }
    Ok(())
}

fn cluster_scoped(filters: &[ResourceFilter]) -> Result<(), PolicyError> {
    if filters.is_empty() {
        return Err(err("clusterScopedFilterPolicy: resourceFilters cannot be empty; remove the policy block entirely if it is not needed".to_owned()));
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (j, rf) in filters.iter().enumerate() {
        if is_catch_all(rf) {
            return Err(err(format!(
                "clusterScopedFilterPolicy.resourceFilters[{j}]: kinds must be specified (catch-all is not supported)"
            )));
        }
        for kind in &rf.kinds {
            if let Some((_, prev)) = seen.iter().find(|(k, _)| k == kind) {
                return Err(err(format!(
                    "clusterScopedFilterPolicy: kind {kind:?} appears in both resourceFilters[{prev}] and resourceFilters[{j}]"
                )));
            }
            seen.push((kind, j));
        }
        selectors(
            rf,
            &format!("clusterScopedFilterPolicy.resourceFilters[{j}]"),
        )?;
    }
    Ok(())
}

fn namespaced(policies: &[NamespacedFilter]) -> Result<(), PolicyError> {
    let mut patterns: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        if p.namespaces.is_empty() {
            return Err(err(format!(
                "namespacedFilterPolicies[{i}]: at least one namespace must be specified"
            )));
        }
        if p.filters.is_empty() {
            return Err(err(format!(
                "namespacedFilterPolicies[{i}]: at least one resourceFilter must be specified"
            )));
        }
        for ns in &p.namespaces {
            match patterns.iter_mut().find(|(n, _)| n == ns) {
                Some((_, at)) => at.push(i),
                None => patterns.push((ns, vec![i])),
            }
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut catch_all = false;
        for (j, rf) in p.filters.iter().enumerate() {
            if is_catch_all(rf) {
                if catch_all {
                    return Err(err(format!(
                        "namespacedFilterPolicies[{i}]: only one catch-all resource filter is allowed"
                    )));
                }
                catch_all = true;
                if !rf.names.is_empty() || !rf.excluded_names.is_empty() {
                    return Err(err(format!(
                        "namespacedFilterPolicies[{i}].resourceFilters[{j}]: names or excludedNames cannot be specified for catch-all filters"
                    )));
                }
            }
            for kind in rf.kinds.iter().filter(|k| *k != "*") {
                if let Some((_, prev)) = seen.iter().find(|(k, _)| k == kind) {
                    return Err(err(format!(
                        "namespacedFilterPolicies[{i}]: kind {kind:?} appears in both resourceFilters[{prev}] and resourceFilters[{j}]"
                    )));
                }
                seen.push((kind, j));
            }
            selectors(
                rf,
                &format!("namespacedFilterPolicies[{i}].resourceFilters[{j}]"),
            )?;
        }
    }
    if let Some((pattern, at)) = patterns.iter().find(|(_, at)| at.len() > 1) {
        let at: Vec<String> = at.iter().map(usize::to_string).collect();
        return Err(err(format!(
            "namespacedFilterPolicies: duplicate namespace pattern '{pattern}' found in policies [{}]",
            at.join(" ")
        )));
    }
    Ok(())
}

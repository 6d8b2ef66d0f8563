//! Cross-tool clusters (issue #13): after an import adds or changes findings, the institution's
//! open findings are grouped by `haechi_policy::cluster` and the result replaces the stored
//! clusters. The queue then shows one item per real problem, and a patch record that fixes one
//! member fixes the cluster.

use haechi_core::Actor;
use haechi_policy::cluster::{cluster, split_location, ClusterCandidate};
use haechi_policy::weakness::parse_cwe_list;
use haechi_store::{ClusterMember, ClusterRow};

use crate::authz::{self, Action, Owner};
use crate::{Result, Service, ServiceError};

impl Service {
    /// Regroups an institution's findings on a task of its own, after the import that made it
    /// necessary has committed: grouping reads every open finding of the institution, which would
    /// otherwise cost a large first import a good part of its time. The task holds the
    /// regrouping lock from before it is spawned, so [`Service::clusters_settled`] waits for it.
    pub(crate) async fn regroup_in_background(&self, institution_id: i64) {
        let guard = self.regrouping.clone().lock_owned().await;
        let svc = self.clone();
        tokio::spawn(async move {
            svc.refresh_clusters(institution_id).await;
            drop(guard);
        });
    }

    /// Waits until no regrouping is in flight: the clusters then reflect every committed
    /// import. Cheap when none is.
    pub async fn clusters_settled(&self) {
        drop(self.regrouping.lock().await);
    }

    /// Regroups the open findings of an institution. Runs after the change that made it
    /// necessary has committed: a failure is logged, and the next import retries.
    async fn refresh_clusters(&self, institution_id: i64) {
        let started = std::time::Instant::now();
        match self.regroup(institution_id).await {
            Ok(changed) => tracing::debug!(
                institution_id,
                changed,
                ms = started.elapsed().as_millis() as u64,
                "regrouped findings into cross-tool clusters"
            ),
            Err(e) => {
                tracing::warn!(institution_id, error = %e, "grouping findings into clusters failed; the next import retries")
            }
        }
    }

    async fn regroup(&self, institution_id: i64) -> Result<bool> {
        let policy = self.policy();
        // With one producer there is nothing to group (the common case of a first import), and
        // a million findings need not be read to find that out.
        let pool = self.store.pool();
        if !haechi_store::has_several_producers(pool, institution_id).await? {
            if !haechi_store::has_clusters(pool, institution_id).await? {
                return Ok(false);
            }
            let mut tx = self.store.begin().await?;
            let changed = tx.replace_clusters(institution_id, &[]).await?;
            tx.commit().await?;
            return Ok(changed);
        }
        // One file of one resource at a time: candidates arrive ordered by resource and
        // location, and a cluster never spans two files.
        let mut members = Vec::new();
        let mut group: Vec<ClusterCandidate> = Vec::new();
        haechi_store::each_cluster_candidate(self.store.pool(), institution_id, |r| {
            let Some((path, line)) = split_location(&r.location) else {
                return;
            };
            if group
                .last()
                .is_some_and(|g| g.resource_id != r.resource_id || g.path != path)
            {
                members.extend(cluster(&policy, &group));
                group.clear();
            }
            group.push(ClusterCandidate {
                finding_id: r.id,
                resource_id: r.resource_id,
                path: path.to_string(),
                line,
                cwes: parse_cwe_list(&r.cwes),
                tool: r.tool_name,
                ai_model: r.ai_model,
                priority_rank: r
                    .priority
                    .as_deref()
                    .and_then(|p| p.strip_prefix('P'))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(9),
            });
        })
        .await?;
        members.extend(cluster(&policy, &group));
        let rows: Vec<ClusterRow> = members
            .into_iter()
            .map(|m| {
                let reason = m.reason.map(|r| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("policy_version".into(), policy.version.into());
                    }
                    v.to_string()
                });
                (m.finding_id, m.cluster_id, reason)
            })
            .collect();
        let mut tx = self.store.begin().await?;
        let changed = tx.replace_clusters(institution_id, &rows).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Every finding of the cross-tool cluster a finding is in, leader first, each with why it
    /// was grouped; empty when the finding is in none.
    pub async fn finding_cluster(
        &self,
        actor: &Actor,
        finding_id: i64,
    ) -> Result<Vec<ClusterMember>> {
        authz::authorize(actor, Action::ReadFindings)?;
        let owner = haechi_store::findings_owner(self.store.pool(), &[finding_id])
            .await?
            .first()
            .map(|(_, inst, _)| *inst)
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, Action::ReadFindings, Owner::Institution(owner))?;
        Ok(haechi_store::cluster_of(self.store.pool(), finding_id).await?)
    }

    /// `ids` with the open members of their clusters.
    pub(crate) async fn with_open_cluster_members(
        &self,
        institution_id: i64,
        ids: Vec<i64>,
    ) -> Result<Vec<i64>> {
        // A patch recorded right after an import fixes the clusters that import formed.
        self.clusters_settled().await;
        let all =
            haechi_store::with_cluster_members(self.store.pool(), institution_id, &ids).await?;
        if all.len() == ids.len() {
            return Ok(ids);
        }
        let extra: Vec<i64> = all.into_iter().filter(|i| !ids.contains(i)).collect();
        let mut out = ids;
        for (id, inst, status) in haechi_store::findings_owner(self.store.pool(), &extra).await? {
            if inst == institution_id && matches!(status.as_str(), "open" | "in_progress") {
                out.push(id);
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

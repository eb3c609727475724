//! The desk's knowledge base learns: `bianmin guides unanswered` lists the questions the desk
//! could not answer well (recorded 未找到, or that the search still does not put on the guide the
//! desk chose), and `bianmin guides alias add CODE ALIAS` teaches the catalogue the words people
//! used. Both act on the server's database, like `bianmin import guides`; an added alias is an
//! ordinary catalogue change (new revision), so the next sync brings it to every desk.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::guide::ServiceGuide;
use crate::domain::inquiry::InquiryOutcome;
use crate::domain::lexicon::{Lexicon, SynonymGroup};
use crate::domain::record::RecordBody;
use crate::domain::text::clean_line;
use crate::domain::time::china_date;
use crate::search::SearchIndex;
use crate::server::store::{Store, StoreResult};

pub use crate::domain::overlay::{MAX_ALIAS_CHARS, alias_problem};
/// Records read from the store per request.
const PAGE: usize = 500;

/// Why a question is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The desk recorded it as 未找到.
    NotFound,
    /// The desk answered with a guide the search does not put among its first three.
    Missed,
    /// The desk answered without a guide, and the search has no confident answer.
    Unsure,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Self::NotFound => "未找到",
            Self::Missed => "搜索没排上",
            Self::Unsure => "把握不大",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unanswered {
    pub asked_at: DateTime<Utc>,
    pub question: String,
    pub reason: Reason,
    /// The guide the desk chose, if any.
    pub chosen: Option<String>,
    /// What the search answers now: the top guide's code and name.
    pub top: Option<(String, String)>,
}

/// Every inquiry of the guidance desk (window 0) since `since` (China date), checked against the
/// current catalogue and lexicon: those recorded 未找到 and those the search does not answer.
/// Oldest first.
pub async fn unanswered(
    store: &dyn Store,
    guides: &[ServiceGuide],
    since: Option<NaiveDate>,
) -> StoreResult<Vec<Unanswered>> {
    let index = SearchIndex::build(guides);
    let mut out = Vec::new();
    for status in store.stream_status(0, None).await? {
        let mut from = 1;
        while from <= status.last {
            let page = store.records(status.device, &status.stream, from, PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.idx + 1;
            for envelope in page {
                let Ok(RecordBody::InquiryRecorded(inquiry)) = serde_json::from_value(envelope.body) else {
                    continue;
                };
                if since.is_some_and(|d| china_date(inquiry.asked_at) < d) {
                    continue;
                }
                let answer = index.ask(&inquiry.question, 3);
                let top3: Vec<&ServiceGuide> = answer.hits.iter().map(|h| &guides[h.guide]).collect();
                let reason = match (&inquiry.outcome, &inquiry.guide_code) {
                    (InquiryOutcome::NotFound, _) => Some(Reason::NotFound),
                    (_, Some(code)) if !top3.iter().any(|g| &g.code == code) => Some(Reason::Missed),
                    (_, None) if !answer.confident() => Some(Reason::Unsure),
                    _ => None,
                };
                if let Some(reason) = reason {
                    out.push(Unanswered {
                        asked_at: inquiry.asked_at,
                        question: inquiry.question.clone(),
                        reason,
                        chosen: inquiry.guide_code.clone(),
                        top: top3.first().map(|g| (g.code.clone(), g.name.clone())),
                    });
                }
            }
        }
    }
    out.sort_by_key(|u| u.asked_at);
    Ok(out)
}

/// The listing, one question per line, with the command that teaches the search.
pub fn unanswered_lines(items: &[Unanswered]) -> Vec<String> {
    if items.is_empty() {
        return vec!["没有未解答或把握不大的咨询".to_owned()];
    }
    let mut lines = Vec::new();
    for u in items {
        let when = u.asked_at.with_timezone(&crate::domain::time::china_offset()).format("%Y-%m-%d %H:%M");
        let question = clean_line(&u.question);
        let top = u.top.as_ref().map_or("无".to_owned(), |(code, name)| format!("{code} {}", clean_line(name)));
        lines.push(format!("{when}  〔{}〕  {question}  现在搜到：{top}", u.reason.label()));
        let code = u.chosen.clone().unwrap_or_else(|| "事项编码".to_owned());
        lines.push(format!("    补别名：bianmin guides alias add {} \"{question}\"", clean_line(&code)));
    }
    lines.push(format!("共 {} 条", items.len()));
    lines
}

/// Adds `alias` to guide `code` as a catalogue change (the guide's revision goes up, so every
/// terminal's next sync brings it). Returns what to print, or why not.
pub async fn add_alias(
    store: &dyn Store,
    code: &str,
    alias: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<String, String> {
    use crate::server::service::catalogue::AliasError;
    let guide = crate::server::service::catalogue::add_alias(store, code.trim(), alias, china_date(now))
        .await
        .map_err(|e| match e {
            AliasError::Store(e) => format!("数据库出错：{e}"),
            other => other.to_string(),
        })?;
    super::import::audit_import(store, actor, "guides alias add", now).await;
    Ok(format!(
        "已为 {} {} 添加别名“{}”；各终端下次同步后即可搜到",
        clean_line(&guide.code),
        clean_line(&guide.name),
        clean_line(alias.trim())
    ))
}

/// Puts `word` in the synonym group of `like` (a new group of the two when `like` is in none),
/// checked like an imported lexicon. Returns what to print, or why not (the lexicon unchanged).
pub fn add_synonym(lexicon: &mut Lexicon, word: &str, like: &str) -> Result<String, String> {
    let (word, like) = (word.trim(), like.trim());
    let mut changed = lexicon.clone();
    let group = changed.groups.iter_mut().position(|g| g.words.iter().any(|w| w == like));
    let said = match group {
        Some(g) => {
            changed.groups[g].words.push(word.to_owned());
            format!("已把“{}”加入“{}”所在的同义词组", clean_line(word), clean_line(like))
        }
        None => {
            changed.groups.push(SynonymGroup { words: vec![like.to_owned(), word.to_owned()] });
            format!("已新建同义词组：{}、{}", clean_line(like), clean_line(word))
        }
    };
    let problems = changed.problems();
    if let Some(first) = problems.first() {
        return Err(first.0.clone());
    }
    *lexicon = changed;
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RecordEnvelope;
    use crate::domain::center::Post;
    use crate::domain::inquiry::Inquiry;
    use crate::server::store;

    fn inquiry(
        idx: u64,
        device: uuid::Uuid,
        question: &str,
        code: Option<&str>,
        outcome: InquiryOutcome,
    ) -> RecordEnvelope {
        let asked_at: DateTime<Utc> = "2026-12-01T02:00:00Z".parse().unwrap();
        let inquiry = Inquiry {
            id: uuid::Uuid::now_v7(),
            question: question.into(),
            guide_code: code.map(str::to_owned),
            outcome,
            first_responder: "d001".into(),
            asked_at,
        };
        RecordEnvelope {
            schema: crate::api::RECORD_SCHEMA,
            device,
            stream: "inquiries".into(),
            idx,
            id: inquiry.id,
            created_at: asked_at,
            author: "d001".into(),
            window: 0,
            post: Post::A,
            body: serde_json::to_value(RecordBody::InquiryRecorded(Box::new(inquiry))).unwrap(),
        }
    }

    #[tokio::test]
    async fn unanswered_questions_are_listed_until_an_alias_answers_them() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let store = store::open(&url).await.unwrap();
        store.seed(&crate::server::seed::bundled_seed().unwrap()).await.unwrap();
        let device = uuid::Uuid::now_v7();
        let records = [
            inquiry(1, device, "身份证过期了", Some("HB-QS-0067"), InquiryOutcome::Answered),
            inquiry(2, device, "想办个五保", None, InquiryOutcome::NotFound),
            inquiry(3, device, "屋头的猫丢了", Some("HB-QS-0083"), InquiryOutcome::SentToWindow { window: 1 }),
        ];
        let clerk = crate::domain::staff::Staff {
            id: "d001".into(),
            name: "导办".into(),
            role: crate::domain::staff::Role::GuidanceDesk,
            active: true,
        };
        crate::server::service::records::append_records(store.as_ref(), &records, 0, &clerk).await.unwrap();

        let guides = |store: &std::sync::Arc<dyn Store>| {
            let store = store.clone();
            async move { store.guides_since(0).await.unwrap().1 }
        };
        let listed = unanswered(store.as_ref(), &guides(&store).await, None).await.unwrap();
        let reasons: Vec<(&str, Reason)> = listed.iter().map(|u| (u.question.as_str(), u.reason)).collect();
        assert_eq!(reasons, [("想办个五保", Reason::NotFound), ("屋头的猫丢了", Reason::Missed)]);
        let lines = unanswered_lines(&listed);
        assert!(lines[0].starts_with("2026-12-01 10:00  〔未找到〕  想办个五保  现在搜到：HB-QS-0021"), "{lines:?}");
        assert!(lines[3].contains("bianmin guides alias add HB-QS-0083 \"屋头的猫丢了\""), "{lines:?}");
        // Later than the questions: nothing.
        let since = NaiveDate::from_ymd_opt(2026, 12, 2);
        assert!(unanswered(store.as_ref(), &guides(&store).await, since).await.unwrap().is_empty());

        // The admin teaches the catalogue; the guide's revision goes up, so sync carries it.
        let now = Utc::now();
        let said = add_alias(store.as_ref(), "HB-QS-0083", "屋头的猫丢了", "命令行:test", now).await.unwrap();
        assert!(said.starts_with("已为 HB-QS-0083"), "{said}");
        let guide = store.guide("HB-QS-0083").await.unwrap().unwrap();
        assert_eq!(guide.revision, 2);
        assert!(guide.aliases.contains(&"屋头的猫丢了".to_owned()));
        let (_, changed) = store.guides_since(91).await.unwrap();
        assert_eq!(changed.iter().map(|g| g.code.as_str()).collect::<Vec<_>>(), ["HB-QS-0083"]);
        let listed = unanswered(store.as_ref(), &guides(&store).await, None).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");

        // Twice, an unknown guide, an empty alias: refused, nothing changes.
        assert!(
            add_alias(store.as_ref(), "HB-QS-0083", "屋头的猫丢了", "t", now).await.unwrap_err().contains("已有别名")
        );
        assert!(add_alias(store.as_ref(), "HB-QS-9999", "猫", "t", now).await.unwrap_err().contains("没有编码"));
        assert!(add_alias(store.as_ref(), "HB-QS-0083", " 、 ", "t", now).await.unwrap_err().contains("不能为空"));
        assert_eq!(store.guide("HB-QS-0083").await.unwrap().unwrap().revision, 2);
    }

    #[test]
    fn a_synonym_joins_its_group_or_starts_one() {
        let mut lexicon = Lexicon::bundled().clone();
        let said = add_synonym(&mut lexicon, "老了", "去世").unwrap();
        assert_eq!(said, "已把“老了”加入“去世”所在的同义词组");
        assert!(lexicon.groups.iter().any(|g| g.words.contains(&"去世".into()) && g.words.contains(&"老了".into())));
        add_synonym(&mut lexicon, "猫", "宠物").unwrap();
        assert_eq!(lexicon.groups.last().unwrap().words, ["宠物", "猫"]);
        // A word already in the lexicon, or filler, is refused and nothing changes.
        let before = lexicon.clone();
        assert!(add_synonym(&mut lexicon, "娃", "去世").unwrap_err().contains("重复"));
        assert!(add_synonym(&mut lexicon, "、", "去世").unwrap_err().contains("标点"));
        assert_eq!(lexicon, before);
    }
}

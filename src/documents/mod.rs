//! Printed documents handed to the applicant, laid out for paper: 80-column plain text
//! ([`text`], receipt printers and the terminal preview) and a self-contained A4 HTML page
//! ([`html`]). What they say (numbers, wording, facts) is the domain's
//! (`crate::domain::documents`); this module only lays it out. Both forms are pure functions of
//! their inputs.

pub mod html;
pub mod report;
pub mod slip;
pub mod text;

pub use html::{notice_html, receipt_html, refusal_html};
pub use text::{TEXT_COLUMNS, notice_text, receipt_text, refusal_text};

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::html::*;
    use super::text::*;
    use crate::assets::{CenterSeed, bundled_calendar, bundled_catalogue};
    use crate::domain::applicant::Applicant;
    use crate::domain::applicant::{IdNumber, Phone};
    use crate::domain::calendar::Deadline;
    use crate::domain::case::{Case, MaterialCheck};
    use crate::domain::case::{CaseStatus, Checklist};
    use crate::domain::center::Post;
    use crate::domain::center::{Center, Window};
    use crate::domain::documents::*;
    use crate::domain::guide::{Handling, ServiceGuide};
    use crate::domain::notice::OneTimeNotice;
    use chrono::NaiveDate;
    use uuid::Uuid;

    const FULL_ID: &str = "11010519491231002X";
    const GUIDE: &str = "HB-QS-0077";
    const MISSING: [&str; 4] = ["m3", "m5", "m7", "m8"];
    const RECEIVED: [&str; 3] = ["m1", "m2", "m4"];
    const NOT_APPLICABLE: &str = "m6";

    struct Fixture {
        center: Center,
        windows: Vec<Window>,
        window_name: String,
        guide: ServiceGuide,
        case: Case,
        notice: OneTimeNotice,
    }

    impl Fixture {
        fn head(&self) -> Letterhead<'_> {
            Letterhead {
                center: &self.center,
                window_number: 4,
                window_name: &self.window_name,
                clerk_name: "赵磊",
                printed_at: "2026-11-30T02:15:00Z".parse().unwrap(),
                windows: &self.windows,
            }
        }

        fn names(&self, ids: &[&str]) -> Vec<String> {
            ids.iter()
                .map(|id| self.case.checklist.items.iter().find(|i| i.material_id == *id).unwrap().name.clone())
                .collect()
        }
    }

    /// 宅基地使用权及房屋所有权首次登记, situation 委托他人申请: eight materials, two of them
    /// conditional, two with blank forms and samples.
    fn fixture() -> Fixture {
        let seed = CenterSeed::bundled().unwrap();
        let guide = bundled_catalogue().unwrap().guides.into_iter().find(|g| g.code == GUIDE).unwrap();
        let window = seed.windows.iter().find(|w| w.number == 4).unwrap();
        let mut checklist = Checklist::for_situation(&guide, Some("s2"));
        assert_eq!(checklist.items.len(), 8);
        for item in &mut checklist.items {
            let id = item.material_id.as_str();
            item.state = if MISSING.contains(&id) {
                MaterialCheck::Missing
            } else if RECEIVED.contains(&id) {
                MaterialCheck::Received
            } else {
                assert_eq!(id, NOT_APPLICABLE);
                MaterialCheck::NotApplicable
            };
        }
        checklist.items.iter_mut().find(|i| i.material_id == "m8").unwrap().note = "须由申请人本人签名并按手印".into();
        let case = Case {
            id: Uuid::from_u128(0x019a_d2c4_5e00_7000_8000_00c0_ffee_d00d),
            case_number: None,
            guide_code: guide.code.clone(),
            guide_name: guide.name.clone(),
            guide_revision: guide.revision,
            situation_id: Some("s2".into()),
            window: 4,
            ticket: None,
            applicant: Some(Applicant {
                name: "张三丰".into(),
                id_number: IdNumber::parse(FULL_ID).unwrap(),
                phone: Some(Phone::parse("13812345678").unwrap()),
            }),
            checklist,
            status: CaseStatus::AwaitingMaterials,
            opened_at: "2026-11-30T01:50:00Z".parse().unwrap(),
            opened_by: "s005".into(),
            post: Post::A,
            accepted_on: None,
            deadline: None,
            version: Default::default(),
            agent: None,
            ending: None,
        };
        let notice = OneTimeNotice {
            id: Uuid::from_u128(0x019a_d2c4_7000_7000_8000_0000_0000_0001),
            number: notice_number(4, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), 1),
            case_id: case.id,
            missing: case.checklist.missing().cloned().collect(),
            given_at: "2026-11-30T02:10:00Z".parse().unwrap(),
            given_by: "s005".into(),
            window: 4,
            repeat_reason: None,
        };
        Fixture {
            center: seed.center,
            window_name: window.name.clone(),
            windows: seed.windows.clone(),
            guide,
            case,
            notice,
        }
    }

    /// The case accepted on `day`, with the deadline from the bundled calendar.
    fn accepted(mut f: Fixture, day: NaiveDate) -> Fixture {
        for item in &mut f.case.checklist.items {
            if item.state == MaterialCheck::Missing {
                item.state = MaterialCheck::Received;
            }
        }
        // Keep m8 and m7 out of the receipt's received list so that it is visibly a subset.
        for id in ["m7", "m8"] {
            f.case.checklist.items.iter_mut().find(|i| i.material_id == id).unwrap().state =
                MaterialCheck::NotApplicable;
        }
        f.case.case_number = Some(case_number(day, 4, 1));
        f.case.accepted_on = Some(day);
        f.case.status = CaseStatus::Accepted;
        f.case.deadline = Some(bundled_calendar().unwrap().add_working_days(day, f.guide.promised_limit_days));
        f
    }

    /// Text with line breaks and leading indentation removed, to catch names split by wrapping.
    fn joined(text: &str) -> String {
        text.lines().map(str::trim).collect()
    }

    fn assert_text_fits(text: &str) {
        for line in text.lines() {
            assert!(crate::domain::text::width(line) <= TEXT_COLUMNS, "too wide: {line:?}");
            assert!(cols(line) <= TEXT_COLUMNS, "too wide with ambiguous characters wide: {line:?}");
        }
    }

    fn assert_no_personal_data(out: &str) {
        assert!(!out.contains(FULL_ID), "full ID number printed");
        assert!(!out.contains("19491231"), "birth date part of the ID printed");
        assert!(!out.contains("13812345678") && !out.contains("12345678"), "full phone printed");
        assert!(out.contains("1101**********002X") && out.contains("138****5678"));
        // The applicant's own paper names the applicant in full: masking is for screens and logs.
        assert!(out.contains("张三丰") && !out.contains("张**"), "the name in full");
    }

    #[test]
    fn notice_lists_every_missing_item_in_text_and_html() {
        let f = fixture();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        for name in f.names(&MISSING) {
            assert!(text.contains(&name), "{name} missing from the text");
            assert!(html.contains(&escape_html(&name)), "{name} missing from the HTML");
        }
        assert!(text.contains("需要补正的材料（共 4 项）"));
        let form_lines = text.lines().filter(|l| l.starts_with("   材料形式：原件") && l.ends_with("份数：1 份"));
        assert_eq!(form_lines.count(), 4);
        for n in ["1. ", "2. ", "3. ", "4. "] {
            assert!(text.lines().any(|l| l.starts_with(n)), "no item {n}");
        }
        // Conditions, sources, forms, samples and the clerk's note of the missing items.
        for s in [
            "委托他人代办的",
            "窗口领取",
            "青石镇人民政府",
            "《不动产登记申请书（填写样本）》",
            "《授权委托书》",
            "须由申请人本人签名并按手印",
        ] {
            assert!(joined(&text).contains(s), "{s} missing from the text");
            assert!(html.contains(s), "{s} missing from the HTML");
        }
        for s in [
            NOTICE_TITLE,
            NOTICE_SUBTITLE,
            "GZ04-20261130-0001",
            "ffeed00d",
            "宅基地使用权及房屋所有权首次登记",
            "HB-QS-0077",
            "委托他人申请",
            "权属来源清楚、界址清楚",
            "《不动产登记暂行条例》第二十条",
            "30 个工作日",
            "10 个工作日",
            "登簿：记载于不动产登记簿",
            "不动产权属证书工本费",
            "青石镇便民服务中心一楼部门业务专窗（4号窗口）",
            "0716-5521314",
            "12345",
            "请按本告知一次性补齐上述材料；补齐后即可受理",
            "4号窗口（部门业务专窗）",
            "赵磊",
            "2026年11月30日 10:15",
            "2026年11月30日 10:10",
            "窗口工作人员签字",
            "申请人签收",
        ] {
            assert!(joined(&text).contains(s), "{s} missing from the text");
            assert!(html.contains(s), "{s} missing from the HTML");
        }
    }

    #[test]
    fn notice_never_names_received_or_not_applicable_items() {
        let f = fixture();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        let missing = f.names(&MISSING);
        for name in f.names(&RECEIVED).into_iter().chain(f.names(&[NOT_APPLICABLE])) {
            assert!(!missing.iter().any(|m| m.contains(&name)), "fixture: {name} is part of a missing name");
            for (what, out) in [("text", joined(&text)), ("html", html.clone())] {
                assert!(!out.contains(&name), "{name} (not missing) appears in the notice {what}");
            }
        }
    }

    #[test]
    fn notice_lists_the_notice_snapshot_not_the_live_checklist() {
        let mut f = fixture();
        // The applicant brought the form after the notice was given: the reprint still says
        // what was told.
        f.case.checklist.items.iter_mut().find(|i| i.material_id == "m3").unwrap().state = MaterialCheck::Received;
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("不动产登记申请书"));
        assert!(text.contains("（共 4 项）"));
    }

    #[test]
    fn text_lines_fit_80_columns() {
        let mut f = fixture();
        f.notice.repeat_reason = Some("申请人提交的授权委托书未签字，".repeat(8));
        f.notice.missing[0].note = format!("{} {}", "很长的备注".repeat(20), "x".repeat(120));
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert_text_fits(&text);
        let f = accepted(fixture(), NaiveDate::from_ymd_opt(2026, 12, 28).unwrap());
        assert_text_fits(&receipt_text(&f.head(), &f.case, &f.guide).unwrap());
        // Every guide of the sample catalogue, every material missing.
        let catalogue = bundled_catalogue().unwrap();
        for guide in &catalogue.guides {
            let mut case = fixture().case;
            case.situation_id = guide.situations.first().map(|s| s.id.clone());
            case.checklist = Checklist::for_situation(guide, case.situation_id.as_deref());
            let mut notice = fixture().notice;
            notice.missing = case.checklist.items.clone();
            assert_text_fits(&notice_text(&f.head(), &notice, &case, guide));
        }
    }

    #[test]
    fn id_and_phone_are_masked_and_the_name_is_in_full() {
        let f = fixture();
        assert_no_personal_data(&notice_text(&f.head(), &f.notice, &f.case, &f.guide));
        assert_no_personal_data(&notice_html(&f.head(), &f.notice, &f.case, &f.guide));
        let f = accepted(fixture(), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_no_personal_data(&receipt_text(&f.head(), &f.case, &f.guide).unwrap());
        assert_no_personal_data(&receipt_html(&f.head(), &f.case, &f.guide).unwrap());
    }

    #[test]
    fn unregistered_applicant_says_so() {
        let mut f = fixture();
        f.case.applicant = None;
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("申请人：未登记"));
        assert!(notice_html(&f.head(), &f.notice, &f.case, &f.guide).contains("<th>申请人</th><td>未登记</td>"));
    }

    #[test]
    fn html_escapes_user_text_and_is_self_contained() {
        let mut f = fixture();
        f.notice.missing[0].note = "<script>alert('x')</script> & \"quoted\"".into();
        f.notice.repeat_reason = Some("<b>补交</b>".into());
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        // maud leaves ' as it is: it only ever writes double-quoted attributes.
        assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;quoted&quot;"));
        assert!(html.contains("&lt;b&gt;补交&lt;/b&gt;"));
        assert!(!html.contains("<script") && !html.contains("<b>"));
        let receipt = receipt_html(&f.head(), &accepted(fixture(), day(2026, 11, 30)).case, &f.guide).unwrap();
        for page in [&html, &receipt] {
            assert!(page.starts_with("<!DOCTYPE html>"));
            assert!(page.contains("<meta charset=\"utf-8\">"));
            assert!(page.contains("@page { size: A4;"));
            assert!(page.contains("SimSun, \"Songti SC\", \"Noto Serif CJK SC\""));
            for external in ["http", "src=", "href=", "<link", "@import", "url(", "<script", "javascript:"] {
                assert!(!page.contains(external), "{external} in the page");
            }
        }
        assert!(html.contains("<table class=\"items\">"));
    }

    #[test]
    fn repeat_reason_is_marked() {
        let mut f = fixture();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(!text.contains("补充告知"));
        f.notice.repeat_reason = Some("指南修订后新增材料".into());
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("补充告知（原因：指南修订后新增材料）"));
        assert!(text.contains(&"*".repeat(TEXT_COLUMNS)));
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(html.contains("<p class=\"repeat\">补充告知（原因：指南修订后新增材料）</p>"));
    }

    #[test]
    fn control_characters_in_notes_cannot_break_the_layout() {
        let mut f = fixture();
        f.notice.missing[0].note = "第一行\n第二行\x1b[2J\r".into();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("窗口备注：第一行 第二行[2J"));
        assert!(!text.contains('\x1b') && !text.contains('\r'));
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn receipt_lists_received_items_and_the_deadline() {
        let f = accepted(fixture(), day(2026, 11, 30));
        assert_eq!(f.case.deadline, Some(Deadline { date: day(2026, 12, 14), provisional: false }));
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        let html = receipt_html(&f.head(), &f.case, &f.guide).unwrap();
        let received: Vec<String> = received_items(&f.case).map(|i| i.name.clone()).collect();
        assert_eq!(received.len(), 5);
        for out in [&joined(&text), &html] {
            for name in &received {
                assert!(out.contains(&escape_html(name)), "{name} missing from the receipt");
            }
            for name in f.names(&["m6", "m7", "m8"]) {
                assert!(!out.contains(&name), "{name} was not received");
            }
            for s in [
                RECEIPT_TITLE,
                "SL20261130-04-0001",
                "受理日期：2026年11月30日",
                "宅基地使用权及房屋所有权首次登记",
                "10 个工作日",
                "2026年12月14日",
                "3号窗口（综合出件窗）",
                "0716-5521314",
                "赵磊",
                "4号窗口（部门业务专窗）",
            ] {
                let s = if out.starts_with('<') {
                    s.replace("受理日期：", "受理日期</th><td>")
                } else {
                    s.to_owned()
                };
                assert!(out.contains(&s), "{s} missing from the receipt");
            }
            assert!(!out.contains("待定"));
        }
    }

    #[test]
    fn provisional_deadline_is_marked() {
        // 10 working days from 2026-12-28 end in 2027, for which the bundled calendar has no
        // State Council schedule.
        let f = accepted(fixture(), day(2026, 12, 28));
        let deadline = f.case.deadline.unwrap();
        assert!(deadline.provisional, "{deadline:?}");
        let expected = format!("{}（待定）", date_cn(deadline.date));
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        assert!(text.contains(&format!("承诺办结日期：{expected}")), "{text}");
        assert!(receipt_html(&f.head(), &f.case, &f.guide).unwrap().contains(&expected));
    }

    #[test]
    fn on_the_spot_items_say_so() {
        let mut f = accepted(fixture(), day(2026, 11, 30));
        f.guide.handling = Handling::OnTheSpot;
        f.guide.promised_limit_days = 0;
        f.case.deadline = None;
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        assert!(text.contains("承诺时限：即办件，材料齐全当场办结"));
        assert!(text.contains("承诺办结日期：2026年11月30日"));
        assert!(text.contains("即办件，当场办结，当场领取办理结果"));
        let notice = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(notice.contains("承诺时限：即办件"));
    }

    #[test]
    fn free_items_say_so() {
        let mut f = fixture();
        f.guide.fees.clear();
        assert!(notice_text(&f.head(), &f.notice, &f.case, &f.guide).contains("收费：不收费"));
    }

    #[test]
    fn receipt_needs_an_accepted_case() {
        let f = fixture();
        let err = receipt_text(&f.head(), &f.case, &f.guide).unwrap_err();
        assert_eq!(err.field, "case_number");
        assert!(receipt_html(&f.head(), &f.case, &f.guide).is_err());
        let mut f = accepted(fixture(), day(2026, 11, 30));
        f.case.accepted_on = None;
        assert_eq!(receipt_text(&f.head(), &f.case, &f.guide).unwrap_err().field, "accepted_on");
        let mut f = accepted(fixture(), day(2026, 11, 30));
        f.case.deadline = None;
        assert_eq!(receipt_html(&f.head(), &f.case, &f.guide).unwrap_err().field, "deadline");
    }

    #[test]
    fn number_formats() {
        let d = day(2026, 11, 30);
        assert_eq!(notice_number(1, d, 1), "GZ01-20261130-0001");
        assert_eq!(notice_number(12, d, 345), "GZ12-20261130-0345");
        assert_eq!(notice_number(123, d, 12345), "GZ123-20261130-12345");
        assert_eq!(case_number(d, 1, 1), "SL20261130-01-0001");
        assert_eq!(case_number(day(2027, 1, 4), 6, 27), "SL20270104-06-0027");
        assert_eq!(case_short_id(Uuid::from_u128(0x019a_d2c4_5e00_7000_8000_00c0_ffee_d00d)), "ffeed00d");
    }

    #[test]
    fn china_time_is_printed() {
        // 16:30 UTC is half past midnight the next day in China.
        assert_eq!(datetime_cn("2026-11-30T16:30:00Z".parse().unwrap()), "2026年12月01日 00:30");
    }

    #[test]
    fn wrap_respects_width_and_words() {
        let lines = wrap("电话 0716-5521314 周一至周五上午8:30-12:00", 20, 20);
        assert!(lines.iter().all(|l| cols(l) <= 20), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("0716-5521314")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("8:30-12:00")), "{lines:?}");
        // Hanzi break anywhere, but not before closing punctuation.
        let lines = wrap("一二三四五六七八九，十", 18, 18);
        assert_eq!(lines, ["一二三四五六七八", "九，十"]);
        // An opening bracket stays with what follows.
        let lines = wrap("一二三四五六七《八九》", 16, 16);
        assert_eq!(lines, ["一二三四五六七", "《八九》"]);
        // Longer than a line: split between characters, never inside one.
        let lines = wrap(&"x".repeat(25), 10, 10);
        assert_eq!(lines, ["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
        let lines = wrap("一二三四五", 5, 5);
        assert_eq!(lines, ["一二", "三四", "五"]);
        // Different width for the first line, and empty input.
        assert_eq!(wrap("一二三四五六", 4, 8), ["一二", "三四五六"]);
        assert_eq!(wrap("", 10, 10), [""]);
        // Ambiguous-width characters count two columns.
        assert_eq!(wrap("··········", 10, 10), ["·····", "·····"]);
    }

    #[test]
    fn notice_text_snapshot() {
        let f = fixture();
        insta::assert_snapshot!(notice_text(&f.head(), &f.notice, &f.case, &f.guide));
    }

    #[test]
    fn receipt_text_snapshot() {
        let f = accepted(fixture(), day(2026, 11, 30));
        insta::assert_snapshot!(receipt_text(&f.head(), &f.case, &f.guide).unwrap());
    }

    #[test]
    fn an_agent_is_on_the_case_documents() {
        let mut f = fixture();
        f.case.agent = Some(crate::domain::applicant::Agent::parse("李四", "440524188001010014", "子女").unwrap());
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        let receipt = accepted(f, day(2026, 11, 30));
        let receipt_t = receipt_text(&receipt.head(), &receipt.case, &receipt.guide).unwrap();
        for out in [&text, &receipt_t] {
            assert!(out.contains("代办人：李四") && out.contains("代办人证件号码：4405**********0014"), "{out}");
            assert!(out.contains("与申请人关系：子女"));
            assert!(!out.contains("440524188001010014"));
        }
        assert!(html.contains("<th>代办人</th><td>李四</td>") && html.contains("<th>与申请人关系</th><td>子女</td>"));
    }

    #[test]
    fn a_deferred_item_and_the_commitment_are_on_the_receipt() {
        let mut f = accepted(fixture(), day(2026, 11, 30));
        let item = f.case.checklist.items.iter_mut().find(|i| i.material_id == "m3").unwrap();
        item.state = MaterialCheck::Deferred;
        item.deferral_days = Some(5);
        item.due_on = Some(day(2026, 12, 7));
        let name = item.name.clone();
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        let html = receipt_html(&f.head(), &f.case, &f.guide).unwrap();
        assert!(joined(&text).contains(&format!("容缺材料（共 1 项，受理后补交）：1. {name}")), "{text}");
        for out in [joined(&text), html] {
            assert!(out.contains("2026年12月07日前补交"));
            assert!(out.contains("容缺受理承诺：本人承诺于2026年12月07日前补交上述容缺材料"));
        }
        assert_text_fits(&text);
        let plain = accepted(fixture(), day(2026, 11, 30));
        assert!(!receipt_text(&plain.head(), &plain.case, &plain.guide).unwrap().contains("容缺"));
    }

    #[test]
    fn the_notice_cites_the_licensing_law_only_for_licensing_items() {
        let mut f = fixture();
        let text = joined(&notice_text(&f.head(), &f.notice, &f.case, &f.guide));
        assert_ne!(f.guide.item_type, crate::domain::guide::ItemType::Licensing);
        assert!(!text.contains("行政许可法"), "a {} is no licence", f.guide.item_type.label());
        assert!(text.contains(
            "依照《不动产登记暂行条例》第二十条、《不动产登记暂行条例实施细则》第四十一条和一次性告知制的规定"
        ));
        f.guide.item_type = crate::domain::guide::ItemType::Licensing;
        let text = joined(&notice_text(&f.head(), &f.notice, &f.case, &f.guide));
        assert!(text.contains("依照《中华人民共和国行政许可法》第三十二条和一次性告知制的规定"));
        // Every sample guide: the Licensing Law appears only where the item is a licence or
        // the guide itself cites it.
        for guide in bundled_catalogue().unwrap().guides {
            let intro = notice_intro(&guide);
            let cites = guide.legal_basis.iter().any(|b| b.law.contains("行政许可法"));
            let licensing = guide.item_type == crate::domain::guide::ItemType::Licensing;
            assert_eq!(intro.contains("行政许可法"), licensing || cites, "{}", guide.code);
            assert!(intro.contains(&guide.legal_basis[0].law) || licensing, "{}", guide.code);
        }
    }

    fn refused(mut f: Fixture) -> Fixture {
        crate::domain::intake::end_case(
            &mut f.case,
            crate::domain::case::EndKind::Refused,
            "申请的宅基地不在本村集体土地范围内",
            "s005",
            "2026-11-30T02:20:00Z".parse().unwrap(),
            Some(refusal_number(4, day(2026, 11, 30), 1)),
        )
        .unwrap();
        f
    }

    #[test]
    fn the_refusal_notice_gives_the_reason_the_basis_and_the_remedy() {
        let f = refused(fixture());
        let text = refusal_text(&f.head(), &f.case, &f.guide).unwrap();
        let html = refusal_html(&f.head(), &f.case, &f.guide).unwrap();
        assert_text_fits(&text);
        for out in [joined(&text), html] {
            for s in [
                REFUSAL_TITLE,
                "BY04-20261130-0001",
                "宅基地使用权及房屋所有权首次登记",
                "张三丰",
                "不符合受理条件",
                "决定不予受理",
                "申请的宅基地不在本村集体土地范围内",
                "《不动产登记暂行条例》第二十条",
                "六十日内依法申请行政复议",
                "6号窗口（办不成事反映窗）",
                "4号窗口（部门业务专窗）",
                "2026年11月30日 10:20",
            ] {
                assert!(out.contains(s), "{s} missing from the refusal notice");
            }
            assert!(!out.contains("11010519491231002X"));
        }
        // Only a refused case has one.
        assert!(refusal_text(&fixture().head(), &fixture().case, &fixture().guide).is_err());
    }

    /// Every window a document names (`N号窗口`, in the letterhead, the guide's place, where to
    /// collect, where to complain) is a window of the center's roster, for every sample guide
    /// and every document.
    #[test]
    fn every_window_a_document_points_to_is_in_the_roster() {
        let number = regex_lite_windows;
        let f = fixture();
        let roster: Vec<u32> = f.windows.iter().map(|w| w.number).collect();
        let mut checked = 0;
        for guide in bundled_catalogue().unwrap().guides {
            let mut case = fixture().case;
            case.guide_code = guide.code.clone();
            case.situation_id = guide.situations.first().map(|s| s.id.clone());
            case.checklist = Checklist::for_situation(&guide, case.situation_id.as_deref());
            let mut notice = fixture().notice;
            notice.missing = case.checklist.items.clone();
            let mut docs =
                vec![notice_text(&f.head(), &notice, &case, &guide), notice_html(&f.head(), &notice, &case, &guide)];
            let mut ok = case.clone();
            for i in &mut ok.checklist.items {
                i.state = MaterialCheck::Received;
            }
            ok.case_number = Some("SL20261130-04-0001".into());
            ok.accepted_on = Some(day(2026, 11, 30));
            ok.deadline = Some(Deadline { date: day(2026, 12, 14), provisional: false });
            docs.push(receipt_text(&f.head(), &ok, &guide).unwrap());
            docs.push(receipt_html(&f.head(), &ok, &guide).unwrap());
            let mut no = Fixture { case, ..fixture() };
            no.guide = guide.clone();
            let no = refused(no);
            docs.push(refusal_text(&f.head(), &no.case, &guide).unwrap());
            docs.push(refusal_html(&f.head(), &no.case, &guide).unwrap());
            for doc in &docs {
                let doc = joined(doc);
                for n in number(&doc) {
                    assert!(roster.contains(&n), "{}: {n}号窗口 is not in the roster", guide.code);
                    checked += 1;
                }
                // A window named with its roster name says the roster's number.
                for w in &f.windows {
                    if let Some(at) = doc.find(&format!("{}（", w.name)) {
                        let after = &doc[at + w.name.len()..];
                        assert!(after.starts_with(&format!("（{}号窗口）", w.number)), "{}: {}", guide.code, w.name);
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    /// The window numbers a text names: `N号窗口`, and `N号、M号窗口`.
    fn regex_lite_windows(text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if *c != '号' {
                continue;
            }
            let digits: String =
                chars[..i].iter().rev().take_while(|c| c.is_ascii_digit()).collect::<String>().chars().rev().collect();
            let rest: String = chars[i + 1..].iter().take(6).collect();
            if !digits.is_empty() && (rest.starts_with("窗口") || rest.starts_with('、')) {
                out.push(digits.parse().unwrap());
            }
        }
        out
    }

    /// Text as it appears in the pages: escaped the way maud escapes.
    fn escape_html(s: &str) -> String {
        maud::html! { (s) }.into_string()
    }
}

//! The kiosk's ticket slip (排队小票) for a 58 mm thermal printer: 32 columns of plain text (a
//! Chinese character takes two), encoded in GB18030 as such printers expect.

use crate::domain::hall::SlipFacts;
use crate::domain::queue_stats::minutes_label;
use crate::domain::text::{truncate, width};
use crate::domain::time::to_china;

/// Columns of a 58 mm thermal printer's line.
pub const SLIP_COLUMNS: usize = 32;

fn centered(text: &str) -> String {
    let text = truncate(text, SLIP_COLUMNS);
    let left = (SLIP_COLUMNS.saturating_sub(width(&text))) / 2;
    format!("{}{text}", " ".repeat(left))
}

/// `label` then `value`, cut to the line.
fn field(label: &str, value: &str) -> String {
    truncate(&format!("{label}{value}"), SLIP_COLUMNS)
}

/// The slip as text: center, the number large (spaced out), category, green channel, people
/// ahead, the estimated wait, the windows, the time. No line is wider than [`SLIP_COLUMNS`].
pub fn slip_text(slip: &SlipFacts) -> String {
    let ticket = &slip.ticket;
    let rule = "-".repeat(SLIP_COLUMNS);
    let spaced: String = ticket.number.to_string().chars().map(|c| format!("{c} ")).collect();
    let mut lines = vec![
        centered(&slip.center),
        centered("排 队 号"),
        rule.clone(),
        String::new(),
        centered(spaced.trim_end()),
        String::new(),
        rule.clone(),
        field("业务类别：", &format!("{} {}", ticket.category, slip.category_name)),
    ];
    if let crate::domain::ticket::Priority::Green(reason) = ticket.priority {
        lines.push(field("绿色通道：", reason.label()));
    }
    lines.push(field("前面等候：", &format!("{} 人", slip.ahead)));
    let wait = match slip.estimated_wait_s {
        Some(0) => "马上".to_owned(),
        Some(s) => format!("约 {}", minutes_label(s)),
        None => "请留意叫号".to_owned(),
    };
    lines.push(field("预计等候：", &wait));
    let windows: Vec<String> = slip.windows.iter().map(|w| w.to_string()).collect();
    lines.push(field("办理窗口：", &format!("{} 号", windows.join("、"))));
    lines.push(field("取号时间：", &to_china(ticket.issued_at).format("%Y-%m-%d %H:%M").to_string()));
    lines.push(rule);
    lines.push(centered("请留意叫号屏和语音提示"));
    lines.push(centered("过号请到导办台重新排队"));
    lines.join("\n") + "\n"
}

/// The text as GB18030 bytes for the printer. Every character of ours encodes (GB18030 covers
/// all of Unicode).
pub fn gb18030(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::GB18030.encode(text);
    bytes.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::queue::{TicketRequest, issue};
    use crate::domain::ticket::{GreenReason, Priority};

    fn slip(priority: Priority, wait: Option<u32>) -> SlipFacts {
        let at = "2026-11-30T01:30:00Z".parse().unwrap();
        let request = TicketRequest { category: 'D', priority, guide_code: None, note: None, slot: None };
        let ticket = issue(uuid::Uuid::nil(), "D012".parse().unwrap(), &request, "kiosk-1", at);
        SlipFacts {
            center: "青石镇便民服务中心".into(),
            ticket,
            category_name: "农业农村与自然资源".into(),
            ahead: 3,
            estimated_wait_s: wait,
            windows: vec![2, 4],
        }
    }

    #[test]
    fn the_slip_fits_32_columns_and_reads_back_from_gb18030() {
        let text = slip_text(&slip(Priority::Green(GreenReason::Elderly), Some(1_260)));
        for line in text.lines() {
            assert!(width(line) <= SLIP_COLUMNS, "{line:?} is {} columns", width(line));
        }
        insta::assert_snapshot!(text);
        let bytes = gb18030(&text);
        assert_ne!(bytes, text.as_bytes(), "encoded, not UTF-8");
        let (back, _, had_errors) = encoding_rs::GB18030.decode(&bytes);
        assert!(!had_errors);
        assert_eq!(back, text);
        // "排" in GB18030 is C5 C5.
        assert!(bytes.windows(2).any(|w| w == [0xC5, 0xC5]));
        assert!(slip_text(&slip(Priority::Normal, None)).contains("预计等候：请留意叫号"));
    }
}

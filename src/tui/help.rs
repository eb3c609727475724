//! The F1 help: every key, grouped by where it works, built from the key bindings in force, so a
//! queue key rebound under `[keys]` is shown as it is bound (a function key works from every
//! pane and is listed there; a letter works in 当前叫号 and is listed there).

use crate::config::{KeyName, QueueKey, QueueKeys};

/// A row of the help: the key, and what it does. An empty description makes a group heading.
pub type HelpRow = (String, String);

/// What each queue operation's key does, in the order the help lists them.
const QUEUE_KEYS: &[(QueueKey, &str)] = &[
    (QueueKey::CallNext, "叫下一位"),
    (QueueKey::Recall, "重呼"),
    (QueueKey::Serve, "开始办理；办理中再按为办结（先确认）"),
    (QueueKey::NoShow, "过号（先确认）"),
    (QueueKey::Transfer, "转移到其他窗口（保留号码）"),
    (QueueKey::Park, "挂起"),
    (QueueKey::CallBack, "回呼挂起最久的号"),
    (QueueKey::ReturnToLine, "过号回队"),
    (QueueKey::CallNumber, "呼叫指定号"),
    (QueueKey::Pause, "暂停 / 恢复"),
    (QueueKey::WalkIn, "不取号直接办理（先确认）"),
    (QueueKey::CheckIn, "预约签到"),
    (QueueKey::Rating, "邀请评价"),
];

pub(super) fn row(key: &str, what: &str) -> HelpRow {
    (key.to_owned(), what.to_owned())
}

fn queue_rows(keys: &QueueKeys, function_keys: bool) -> impl Iterator<Item = HelpRow> + '_ {
    QUEUE_KEYS.iter().filter_map(move |(which, what)| {
        let key = keys.key(*which);
        (matches!(key, KeyName::F(_)) == function_keys).then(|| (key.label(), (*what).to_owned()))
    })
}

/// The window clerk's help.
pub fn window_help(keys: &QueueKeys) -> Vec<HelpRow> {
    let mut rows = vec![
        row("【任何面板】", ""),
        row("F1 / ?", "显示或关闭帮助"),
        row("Tab / Shift+Tab", "切换面板"),
        row("F2 F3 F4 F5", "当前叫号 / 一次性告知 / 办事指南 / AB岗交接"),
    ];
    rows.extend(queue_rows(keys, true));
    rows.extend([
        row("Ctrl+R", "立即刷新"),
        row("Ctrl+O", "退出登录（换人登录）"),
        row("Ctrl+P", "切换到本人任职的另一个窗口（须填原因）"),
        row("q / Ctrl+C", "退出程序（在搜索框和筛选中 q 为文字）"),
        row("【F2 当前叫号】", ""),
    ]);
    rows.extend(queue_rows(keys, false));
    rows.extend([
        row("w", "来访登记（纸质号，离线可用）"),
        row("【F3 一次性告知】", ""),
        row("在办件列表中打字", "筛选：事项名称、编码、号码、办件编号"),
        row("上下方向键 / Enter", "选择 / 打开办件"),
        row("y / n / x", "材料：已收 / 缺 / 不适用（仅限有适用情形的材料）"),
        row("l", "容缺：指南允许的材料受理后补交；受理后按 y 登记补交"),
        row("e / p / w", "材料备注 / 录入申请人 / 录入代办人"),
        row("g", "生成一次性告知单"),
        row("a", "受理（即办件当场办结，先确认）"),
        row("c", "终止办件：误开撤销 / 申请人撤回 / 不予受理（先确认）"),
        row("d / r / o", "分办 / 办理结果 / 统一出件（先确认）"),
        row("Ctrl+B", "补打告知单、受理凭证或不予受理告知书（不产生新记录）"),
        row("m", "转办到其他窗口（填窗口号和原因，记录在案）"),
        row("Esc", "回到在办件列表 / 清除筛选"),
        row("Ctrl+F", "查找回头办件（告知单编号、办件编号、身份证号或姓名电话），接续办理"),
        row("Ctrl+E", "为本窗口最早一条待整改的差评填写情况说明（办结由中心负责人操作）"),
        row("Ctrl+K", "知悉列表上方的办件冲突（另一终端先改了同一办件）"),
        row("【F4 办事指南】", ""),
        row("直接打字", "搜索：汉字、全拼或首字母"),
        row("上下方向键 PgUp PgDn", "在列表中移动，或翻看指南"),
        row("Enter / Esc", "打开指南 / 返回"),
        row("f", "展开或收起常见问题"),
        row("s", "按此指南收件（先选业务情形）"),
        row("【F5 AB岗交接】", ""),
        row("h / e / b / a", "写交接 / 紧急顶岗 / 交回 / 确认接收"),
        row("x", "撤回自己写的、对方尚未确认的交接（先确认）"),
        row("1-9", "勾选交接的第几项待办"),
        row("Ctrl+S", "保存交接"),
    ]);
    rows
}

/// The guidance desk's help (its keys are fixed).
pub fn desk_help() -> Vec<HelpRow> {
    [
        ("直接打字", "按对方原话搜索：汉字、全拼或首字母"),
        ("上下方向键", "在结果中移动"),
        ("Enter", "在右侧打开指南"),
        ("PgUp PgDn", "翻看指南"),
        ("Esc", "清空搜索 / 关闭指南"),
        ("F5", "记录咨询：未找到对应事项"),
        ("F6", "记录咨询：已解答"),
        ("F7", "记录咨询：引导至窗口"),
        ("F8", "为此事项取号并记录"),
        ("F9", "记录咨询：转办不成事反映窗口"),
        ("F10", "预约签到（排队号、预约码或电话）"),
        ("F11", "预约（类别、日期、时段）"),
        ("F12", "取消预约（凭预约码）"),
        ("F1", "显示或关闭帮助"),
        ("Ctrl+R", "立即刷新"),
        ("Ctrl+O", "退出登录"),
        ("Ctrl+C", "退出"),
    ]
    .into_iter()
    .map(|(k, w)| row(k, w))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeySettings;

    #[test]
    fn a_rebound_key_is_shown_as_bound_and_where_it_works() {
        let default = KeySettings::default().resolve().unwrap();
        let help = window_help(&default);
        assert!(help.contains(&row("F6", "叫下一位")));
        let mine = KeySettings { call_next: "n".into(), recall: "F11".into(), ..KeySettings::default() };
        let help = window_help(&mine.resolve().unwrap());
        assert!(!help.iter().any(|(k, w)| k == "F6" && w == "叫下一位"), "F6 no longer calls");
        let f2 = help.iter().position(|(k, _)| k == "【F2 当前叫号】").unwrap();
        let n = help.iter().position(|r| *r == row("n", "叫下一位")).expect("listed as bound");
        let f11 = help.iter().position(|r| *r == row("F11", "重呼")).expect("listed as bound");
        assert!(n > f2, "a letter works in 当前叫号");
        assert!(f11 < f2, "a function key works from every pane");
        // Every operation is listed once.
        for (which, what) in QUEUE_KEYS {
            let label = mine.resolve().unwrap().key(*which).label();
            assert_eq!(help.iter().filter(|(k, w)| *k == label && w == what).count(), 1, "{what}");
        }
    }
}

//! A center's overlay on the county catalogue (issue #18): per center and guide code, the guide
//! may be hidden, carry extra local aliases (searched on the terminal like the guide's own), and
//! have its window (办理地点) and phone numbers replaced. The county catalogue stays one; what a
//! center's terminals receive is [`GuideOverlay::apply`] of it.

use serde::{Deserialize, Serialize};

use super::Invalid;
use super::guide::ServiceGuide;
use super::text::clean_line;

/// The longest alias (the catalogue's own and a center's local ones alike).
pub const MAX_ALIAS_CHARS: usize = 40;
/// The longest replaced 办理地点 and phone number.
pub const MAX_LOCATION_CHARS: usize = 100;
pub const MAX_PHONE_CHARS: usize = 40;
/// The most local aliases one center gives one guide.
pub const MAX_LOCAL_ALIASES: usize = 20;

/// One center's changes to one guide. The default changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideOverlay {
    /// Not offered at this center: its terminals do not have the guide.
    #[serde(default)]
    pub hidden: bool,
    /// Local names, added after the guide's own.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// 办理地点 at this center (e.g. 便民服务中心 3 号窗口), replacing the county's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// 咨询电话 at this center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult_phone: Option<String>,
    /// 监督投诉电话 at this center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint_phone: Option<String>,
}

impl GuideOverlay {
    /// The guide as the center's terminals get it; `None`: hidden there.
    pub fn apply(&self, guide: &ServiceGuide) -> Option<ServiceGuide> {
        if self.hidden {
            return None;
        }
        let mut guide = guide.clone();
        for alias in &self.aliases {
            if !guide.aliases.contains(alias) {
                guide.aliases.push(alias.clone());
            }
        }
        if let Some(location) = &self.location {
            guide.location.clone_from(location);
        }
        if let Some(phone) = &self.consult_phone {
            guide.consult_phone.clone_from(phone);
        }
        if let Some(phone) = &self.complaint_phone {
            guide.complaint_phone.clone_from(phone);
        }
        Some(guide)
    }

    /// Whether the overlay may replace `old` on `guide`, refused with the reason in Chinese: at
    /// most [`MAX_LOCAL_ALIASES`] aliases, each alias it adds passes [`alias_problem`] against
    /// the guide and the aliases before it (those it keeps were checked when added), and the
    /// texts are single non-empty lines of bounded length.
    pub fn check_change(&self, guide: &ServiceGuide, old: &GuideOverlay) -> Result<(), Invalid> {
        if self.aliases.len() > MAX_LOCAL_ALIASES {
            return Err(invalid("aliases", format!("一个事项最多 {MAX_LOCAL_ALIASES} 个本地别名")));
        }
        let mut seen = guide.clone();
        for (i, alias) in self.aliases.iter().enumerate() {
            let kept = old.aliases.contains(alias) && !self.aliases[..i].contains(alias);
            if !kept {
                if alias.trim() != alias {
                    return Err(invalid("aliases", "别名首尾不能有空格"));
                }
                if let Some(problem) = alias_problem(&seen, alias) {
                    return Err(invalid("aliases", problem));
                }
            }
            seen.aliases.push(alias.clone());
        }
        let texts = [
            ("location", &self.location, MAX_LOCATION_CHARS, "办理地点"),
            ("consult_phone", &self.consult_phone, MAX_PHONE_CHARS, "咨询电话"),
            ("complaint_phone", &self.complaint_phone, MAX_PHONE_CHARS, "监督投诉电话"),
        ];
        for (field, text, max, what) in texts {
            let Some(text) = text else { continue };
            if text.trim().is_empty() || clean_line(text) != *text || text.trim() != text {
                return Err(invalid(field, format!("{what}须为一行非空文字，首尾无空格")));
            }
            if text.chars().count() > max {
                return Err(invalid(field, format!("{what}太长（最多 {max} 个字）")));
            }
        }
        Ok(())
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid { field: field.into(), message: message.into() }
}

/// Why `alias` cannot be added to `guide` (the county catalogue's or a center's), in Chinese.
pub fn alias_problem(guide: &ServiceGuide, alias: &str) -> Option<String> {
    let alias = alias.trim();
    if alias.chars().filter(|c| c.is_alphanumeric()).count() == 0 {
        Some("别名不能为空".to_owned())
    } else if alias.chars().count() > MAX_ALIAS_CHARS {
        Some(format!("别名太长（最多 {MAX_ALIAS_CHARS} 个字）"))
    } else if alias.chars().any(char::is_control) {
        Some("别名含有控制字符".to_owned())
    } else if guide.aliases.iter().any(|a| a == alias) {
        Some(format!("{} 已有别名“{alias}”", guide.code))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide() -> ServiceGuide {
        crate::assets::bundled_catalogue().unwrap().guides.remove(0)
    }

    #[test]
    fn an_overlay_hides_or_adds_to_the_county_guide_and_checks_what_it_adds() {
        let g = guide();
        assert_eq!(GuideOverlay::default().apply(&g), Some(g.clone()), "no overlay, no change");
        assert_eq!(GuideOverlay { hidden: true, ..Default::default() }.apply(&g), None);
        let o = GuideOverlay {
            aliases: vec!["本地叫法".into()],
            location: Some("3号窗口".into()),
            complaint_phone: Some("12345".into()),
            ..Default::default()
        };
        let shown = o.apply(&g).unwrap();
        assert_eq!(shown.aliases.last().map(String::as_str), Some("本地叫法"));
        assert_eq!((shown.location.as_str(), shown.complaint_phone.as_str()), ("3号窗口", "12345"));
        assert_eq!(shown.consult_phone, g.consult_phone, "what the overlay does not replace stays the county's");
        assert!(o.check_change(&g, &GuideOverlay::default()).is_ok());

        let none = GuideOverlay::default();
        let twice = GuideOverlay { aliases: vec!["本地叫法".into(), "本地叫法".into()], ..Default::default() };
        assert_eq!(twice.check_change(&g, &o).unwrap_err().field, "aliases", "kept once, added again");
        assert_eq!(twice.check_change(&g, &none).unwrap_err().field, "aliases");
        if let Some(own) = g.aliases.first() {
            let same = GuideOverlay { aliases: vec![own.clone()], ..Default::default() };
            assert_eq!(same.check_change(&g, &none).unwrap_err().field, "aliases", "the guide has it already");
        }
        let two_lines = GuideOverlay { location: Some("甲\n乙".into()), ..Default::default() };
        assert_eq!(two_lines.check_change(&g, &none).unwrap_err().field, "location");
        let empty = GuideOverlay { consult_phone: Some(String::new()), ..Default::default() };
        assert_eq!(empty.check_change(&g, &none).unwrap_err().field, "consult_phone");
    }
}

//! What a report is about: the **component** (camera, gallery, Bluetooth, Wi-Fi, battery…) and
//! the **symptom** (crashes, drains, overheats, disconnects…), read in Chinese (simplified or
//! traditional), English and French.
//!
//! Two reports are the same problem only if these agree: "camera app crashes" and "gallery app
//! crashes" share a symptom and most of their words, "overheats while charging" and "charges
//! slowly" share a component; a sentence embedding or a word overlap scores both pairs high.
//! The lexicon below was written against the `dev` reports of `data/labelled_reports.tsv`;
//! `data/labelled_reports_test.tsv` was written by someone else and is never used to tune it.
//!
//! Matching: the text is converted to simplified Chinese (`fast2s`), lower-cased, accents
//! folded and punctuation made spaces (so "Wi-Fi", "wi‑fi" and "WiFi" meet the same entry).
//! A Chinese term matches anywhere; a Latin term matches at the start of a word, so
//! "disconnect" also finds "disconnects", "disconnecting" and "disconnected"; a term written
//! with a trailing `$` must end the word ("lag$" is not "lagoon").

use std::collections::BTreeSet;

/// Components that exclude each other: two reports naming different members of one family
/// (and none in common) are about different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Radio,
    App,
    Biometric,
    Power,
    Device,
    Display,
    Sound,
    Other,
}

pub struct Entry {
    pub name: &'static str,
    pub family: Family,
    pub terms: &'static [&'static str],
}

macro_rules! entries {
    ($($name:literal $family:ident [$($term:literal),* $(,)?]),* $(,)?) => {
        &[$(Entry { name: $name, family: Family::$family, terms: &[$($term),*] }),*]
    };
}

pub const COMPONENTS: &[Entry] = entries![
    "battery" Power ["电池", "电量", "续航", "待机", "掉电", "耗电", "费电", "battery", "batteries", "batterie", "autonomie", "standby", "veille", "percentage", "pourcentage"],
    "charging" Power ["充电", "快充", "充电器", "充不进", "充满", "charging", "charger", "charge$", "charges$", "charged", "recharg", "chargeur", "chargement", "en charge"],
    "camera" App ["相机", "摄像头", "拍照", "拍摄", "镜头", "录像", "录视频", "camera", "appareil photo", "photo app", "viewfinder", "shutter", "selfie", "objectif", "prise de vue", "take photo", "taking photo", "taking picture", "filmer", "recording video", "record video", "video recording"],
    "gallery" App ["相册", "图库", "gallery", "galerie", "album", "photos app", "corbeille", "recycle bin"],
    "keyboard" App ["键盘", "输入法", "打字", "keyboard", "clavier", "typing", "gboard", "autocorrect", "correcteur", "saisie"],
    "launcher" App ["桌面", "主屏", "启动器", "图标", "launcher", "home screen", "ecran d accueil", "icone", "icon", "app drawer"],
    "widget" App ["小部件", "小组件", "插件", "widget"],
    "alarm" App ["闹钟", "闹铃", "alarm", "alarme", "reveil"],
    "messages" App ["短信", "彩信", "sms", "text message", "texto", "mms"],
    "calendar" App ["日历", "calendar", "calendrier", "agenda"],
    "settings" App ["设置", "settings", "parametres", "reglages"],
    "file_manager" App ["文件管理", "file manager", "gestionnaire de fichiers"],
    "smart_home" App ["米家", "智能家居", "home app", "smart home", "maison connectee", "ampoule", "aspirateur", "robot"],
    "translation" App ["翻译", "字幕", "translat", "traduc", "subtitle", "sous titre"],
    "notes" App ["笔记", "便签", "notes app", "note app", "bloc notes"],
    "backup" App ["备份", "云服务", "云空间", "云同步", "backup", "cloud", "sauvegarde", "synchronis", "sync"],
    "update" App ["更新包", "系统更新失败", "安装更新", "ota", "install the update", "update fails", "update failed", "installation de la mise a jour"],
    "bluetooth" Radio ["蓝牙", "bluetooth", "bt$"],
    "wifi" Radio ["wifi", "wi fi", "wlan", "无线网", "路由器", "router", "routeur", "box internet"],
    "hotspot" Radio ["热点", "hotspot", "tethering", "partage de connexion", "point d acces"],
    "cellular" Radio ["5g", "4g", "lte", "信号", "移动网络", "移动数据", "数据网络", "基站", "sim$", "sim card", "carte sim", "volte", "signal$", "signaux", "reseau mobile", "donnees mobiles", "mobile data", "mobile network", "cellular", "carrier", "operateur"],
    "gps" Radio ["gps", "定位", "导航", "地图", "location", "navigation", "localisation", "maps", "waze"],
    "nfc" Radio ["nfc", "门禁卡", "公交卡", "交通卡", "刷卡", "支付", "付款", "payment", "paiement", "contactless", "sans contact", "google pay", "wallet", "tap to pay"],
    "fingerprint" Biometric ["指纹", "fingerprint", "empreinte"],
    "face_unlock" Biometric ["人脸", "面部", "面容", "刷脸", "face unlock", "face recognition", "face id", "reconnaissance faciale", "visage"],
    "screen" Display ["屏幕", "屏", "显示屏", "screen", "display", "ecran", "affichage", "panel", "amoled"],
    "brightness" Display ["亮度", "brightness", "luminosite", "dim$", "too dark", "trop sombre"],
    "refresh_rate" Display ["刷新率", "120hz", "90hz", "60hz", "hz$", "refresh rate", "taux de rafraichissement"],
    "touch" Display ["触控", "触摸", "触屏", "误触", "touch", "tactile", "ghost touch"],
    "aod" Display ["息屏显示", "熄屏显示", "always on", "aod"],
    "rotation" Display ["旋转", "横屏", "竖屏", "rotat", "rotation", "landscape", "paysage"],
    "dark_mode" Display ["深色", "暗黑", "dark mode", "mode sombre", "theme sombre"],
    "font" Display ["字体", "font", "police"],
    "speaker" Sound ["扬声器", "喇叭", "外放", "speaker", "haut parleur", "enceinte"],
    "microphone" Sound ["麦克风", "话筒", "收音", "mic$", "mics$", "microphone", "micro$"],
    "earpiece" Sound ["听筒", "earpiece", "ecouteur interne"],
    "call" Sound ["通话", "电话", "来电", "接电话", "打电话", "call", "appel", "phone call", "calls"],
    "ringtone" Sound ["铃声", "ringtone", "sonnerie"],
    "vibration" Sound ["振动", "震动", "马达", "vibrat", "haptic", "haptique"],
    "usb_audio" Sound ["type c", "usb c", "usb", "dongle", "转接"],
    "earbuds" Device ["耳机", "buds", "earbud", "headphone", "headset", "airdots", "ecouteur", "casque"],
    "watch" Device ["手表", "手环", "watch", "band$", "montre", "bracelet"],
    "tv" Device ["电视", "盒子", "遥控", "tv$", "tv box", "television", "telecommande", "remote"],
    "step_count" Other ["步数", "计步", "step count", "steps count", "step counter", "pedometer", "counts steps", "nombre de pas", "compte les pas", "podometre"],
    "heart_rate" Other ["心率", "heart rate", "rythme cardiaque", "frequence cardiaque", "bpm"],
    "night_mode" Other ["夜景", "night mode", "mode nuit", "night shot", "photos de nuit", "photos at night", "night photo"],
    "portrait" Other ["人像", "portrait", "bokeh", "background blur"],
    "stabilization" Other ["防抖", "stabili"],
    "hdr" Other ["hdr"],
    "notifications" Other ["通知", "推送", "notification", "notif", "push"],
    "storage" Other ["存储", "内存", "空间", "storage", "stockage", "memoire", "espace", "gb$", "go$"],
    "accessibility" Other ["无障碍", "读屏", "talkback", "screen reader", "lecteur d ecran", "accessibilit"],
    "animation" Other ["动画", "animation", "transition"],
    "screenshot" Other ["截图", "截屏", "screenshot", "capture d ecran"],
    "screen_recorder" Other ["录屏", "screen record", "enregistreur d ecran", "enregistrement d ecran"],
];

pub const SYMPTOMS: &[Entry] = entries![
    "crash" Other ["闪退", "崩溃", "崩了", "强制关闭", "自动关闭", "crash", "force clos", "closes itself", "closes by itself", "keeps closing", "stopped working", "has stopped", "se ferme", "plante", "plantage", "crashe", "quitte"],
    "lag" Other ["卡顿", "很卡", "有点卡", "好卡", "卡卡", "卡成", "掉帧", "不流畅", "慢", "迟钝", "反应迟", "lag$", "lags$", "lagg", "stutter", "slow", "sluggish", "jank", "frame drop", "drops frames", "choppy", "saccad", "lent", "lente", "rame", "ralenti", "pas fluide", "delai", "takes forever", "takes ages"],
    "freeze" Other ["卡死", "死机", "无响应", "没反应", "冻结", "freez", "frozen", "hang", "unresponsive", "not responding", "fige", "bloque", "ne repond"],
    "drain" Other ["耗电", "掉电", "费电", "掉得快", "不耐用", "撑不到", "续航差", "续航短", "续航下降", "续航变", "drain", "dies fast", "dies by", "doesn t last", "does not last", "barely lasts", "won t last", "se vide", "decharg", "tient pas", "tient plus", "ne dure"],
    "overheat" Other ["发热", "发烫", "过热", "烫手", "很烫", "好烫", "温度高", "hot$", "heat", "overheat", "warm", "burning", "chauffe", "surchauffe", "brulant", "chaud"],
    "slow_charge" Other ["充电慢", "充得慢", "充满要", "充电速度", "快充不", "slow charg", "charges slow", "charging slow", "charging speed", "fast charg", "charge lente", "charge rapide", "charge lentement", "se charge lentement"],
    "disconnect" Other ["断开", "断连", "断线", "掉线", "断网", "断流", "自动断", "老是断", "经常断", "disconnect", "drops out", "keeps dropping", "dropping", "dropped", "drops$", "drop$", "loses connection", "lose connection", "losing connection", "cuts out", "cut out", "connection lost", "deconnect", "coupe", "perd la connexion", "perd le", "decroche", "se deconnecte"],
    "cannot_connect" Other ["连不上", "搜不到", "找不到", "无法连接", "配对失败", "can t connect", "cannot connect", "won t connect", "not found", "doesn t show up", "can t find", "won t pair", "pairing fail", "impossible de connecter", "introuvable", "ne trouve"],
    "flicker" Other ["闪烁", "闪屏", "频闪", "flicker", "scintill", "clignot"],
    "inaccurate" Other ["不准", "不对", "错误", "偏差", "漂移", "乱跳", "跳来跳去", "wrong", "inaccurate", "incorrect", "drift", "jump", "off by", "faux", "fausse", "imprecis", "erron", "saute", "derive", "mauvais"],
    "no_sound" Other ["没声音", "没有声音", "无声", "不响", "没响", "静音", "哑", "no sound", "silent", "doesn t ring", "didn t ring", "did not ring", "never rang", "no audio", "mute", "ne sonne", "pas de son", "aucun son", "muet"],
    "too_quiet" Other ["太小", "声音小", "很小声", "听不清", "quiet", "too low", "low volume", "barely hear", "can t hear", "faible", "trop bas", "entend mal", "entend pas"],
    "noise" Other ["杂音", "破音", "沙沙", "滋滋", "噪音", "crackl", "distort", "buzz", "static", "gresill", "craque", "bruit"],
    "delayed" Other ["延迟", "收不到", "不及时", "晚到", "迟到", "late$", "arrive late", "arrives late", "come late", "delay", "hours later", "en retard", "retard", "n arrivent pas", "arrive pas"],
    "blurry" Other ["模糊", "发糊", "糊", "不清楚", "blurry", "blur", "out of focus", "flou", "floue", "net$"],
    "restart" Other ["重启", "reboot", "restart", "redemarr"],
    "reset" Other ["恢复默认", "被重置", "重置", "变回", "又回到", "resets", "reset", "reverts", "back to default", "reinitialis", "revient"],
    "missing" Other ["消失", "不见了", "没了", "丢失", "missing", "disappear", "gone", "vanish", "disparu", "disparaiss", "manquant"],
    "tint" Other ["偏绿", "发绿", "偏黄", "偏色", "绿屏", "green tint", "yellow tint", "tint", "teinte", "verdatre"],
    "request" Other ["希望", "建议", "能不能", "可不可以", "加个", "加一个", "请加", "求加", "please add", "would be nice", "feature request", "wish", "should add", "add an option", "add a", "option to", "ajouter", "ajoutez", "souhait", "serait bien", "pourriez"],
];

/// Symptoms that are one problem seen two ways ("it lags" / "it freezes for a second").
const COMPATIBLE: &[(&str, &str)] = &[("lag", "freeze"), ("drain", "overheat"), ("slow_charge", "lag")];

/// The text as the lexicon reads it: simplified Chinese, lower case, accents folded,
/// punctuation as spaces, padded with a space at each end.
pub fn normalise(text: &str) -> String {
    let simplified = fast2s::convert(text);
    let folded = crate::dedupe::fold(&simplified);
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    let mut last_space = true;
    let mut last_han = false;
    for c in folded.chars() {
        let c = if c.is_alphanumeric() { c } else { ' ' };
        let han = fanloop_platform::text::is_han(c);
        // "打开wifi后", "开了HDR": a Latin word next to Chinese is still a word.
        if c != ' ' && !last_space && han != last_han {
            out.push(' ');
        }
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        last_han = han;
        out.push(c);
    }
    if !last_space {
        out.push(' ');
    }
    out
}

fn term_matches(normalised: &str, term: &str) -> bool {
    if term.chars().any(fanloop_platform::text::is_han) {
        return normalised.contains(term);
    }
    match term.strip_suffix('$') {
        Some(whole) => normalised.contains(&format!(" {whole} ")),
        None => normalised.contains(&format!(" {term}")),
    }
}

fn found(normalised: &str, entries: &'static [Entry]) -> BTreeSet<&'static str> {
    entries
        .iter()
        .filter(|e| e.terms.iter().any(|t| term_matches(normalised, t)))
        .map(|e| e.name)
        .collect()
}

/// A report's components and symptoms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub components: BTreeSet<&'static str>,
    pub symptoms: BTreeSet<&'static str>,
}

/// How two profiles relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    /// They name different components of one family, or only different symptoms.
    pub conflict: bool,
    pub shared_components: usize,
    pub shared_symptoms: usize,
}

impl Agreement {
    /// Both a component and a symptom in common, and nothing that contradicts.
    pub fn confirmed(&self) -> bool {
        !self.conflict && self.shared_components > 0 && self.shared_symptoms > 0
    }
}

fn family(name: &str) -> Family {
    COMPONENTS
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.family)
        .unwrap_or(Family::Other)
}

fn symptom_match(a: &str, b: &str) -> bool {
    a == b
        || COMPATIBLE
            .iter()
            .any(|(x, y)| (*x == a && *y == b) || (*x == b && *y == a))
}

impl Profile {
    pub fn of_text(text: &str) -> Profile {
        let n = normalise(text);
        let mut components = found(&n, COMPONENTS);
        let symptoms = found(&n, SYMPTOMS);
        // "Slow charging" names charging as its symptom already.
        if symptoms.contains("slow_charge") {
            components.insert("charging");
        }
        Profile { components, symptoms }
    }

    /// Names as stored with a signature: components, then `!` and symptoms.
    pub fn names(&self) -> Vec<String> {
        self.components
            .iter()
            .map(|c| c.to_string())
            .chain(self.symptoms.iter().map(|s| format!("!{s}")))
            .collect()
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Profile {
        let mut p = Profile::default();
        for n in names {
            if let Some(s) = n.strip_prefix('!') {
                if let Some(e) = SYMPTOMS.iter().find(|e| e.name == s) {
                    p.symptoms.insert(e.name);
                }
            } else if let Some(e) = COMPONENTS.iter().find(|e| e.name == n) {
                p.components.insert(e.name);
            }
        }
        p
    }

    pub fn agreement(&self, other: &Profile) -> Agreement {
        let shared_components = self.components.intersection(&other.components).count();
        let mut conflict = false;
        // Per family: both sides name members, none in common → different things.
        for fam in [
            Family::Radio,
            Family::App,
            Family::Biometric,
            Family::Power,
            Family::Device,
            Family::Display,
            Family::Sound,
            Family::Other,
        ] {
            let mine: BTreeSet<_> = self.components.iter().filter(|c| family(c) == fam).collect();
            let theirs: BTreeSet<_> = other.components.iter().filter(|c| family(c) == fam).collect();
            if !mine.is_empty() && !theirs.is_empty() && mine.is_disjoint(&theirs) {
                conflict = true;
            }
        }
        let real = |s: &&&str| **s != "request";
        let (mine, theirs): (Vec<_>, Vec<_>) = (
            self.symptoms.iter().filter(real).collect(),
            other.symptoms.iter().filter(real).collect(),
        );
        let shared_symptoms = mine
            .iter()
            .filter(|a| theirs.iter().any(|b| symptom_match(a, b)))
            .count();
        if !mine.is_empty() && !theirs.is_empty() && shared_symptoms == 0 {
            conflict = true;
        }
        // A request for a feature and a report of a fault are not the same thing.
        if self.symptoms.contains("request") != other.symptoms.contains("request")
            && (!mine.is_empty() || !theirs.is_empty())
        {
            conflict = true;
        }
        Agreement {
            conflict,
            shared_components,
            shared_symptoms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Profile {
        Profile::of_text(text)
    }

    #[test]
    fn components_and_symptoms_in_three_languages_and_both_scripts() {
        for text in [
            "蓝牙耳机通话时断开",
            "藍牙耳機通話時斷開",
            "Bluetooth earbuds disconnecting during calls",
            "Les écouteurs Bluetooth se déconnectent pendant les appels",
        ] {
            let p = p(text);
            assert!(
                p.components.contains("bluetooth") && p.components.contains("earbuds"),
                "{text}: {p:?}"
            );
            assert!(p.symptoms.contains("disconnect"), "{text}: {p:?}");
        }
        assert!(p("Wi-Fi keeps dropping").components.contains("wifi"));
        assert!(p("WiFi keeps dropping").components.contains("wifi"));
        assert!(p("打开wifi后就断网").components.contains("wifi") && p("开了HDR拍照").components.contains("hdr"));
        assert!(!p("La galerie s'ouvre lentement, les miniatures ne chargent pas")
            .components
            .contains("charging"));
        assert!(!p("Je voulais signaler un bug").components.contains("cellular"));
        assert!(!p("the lagoon photo").symptoms.contains("lag"));
        assert!(p("the launcher lags").symptoms.contains("lag") && p("laggy keyboard").symptoms.contains("lag"));
    }

    #[test]
    fn look_alikes_conflict_and_paraphrases_agree() {
        let conflict = |a: &str, b: &str| p(a).agreement(&p(b)).conflict;
        assert!(conflict(
            "Camera app crashes when opening portrait mode",
            "Gallery app crashes when opening a video"
        ));
        assert!(conflict(
            "Phone overheats while charging",
            "Phone charges slowly since the update"
        ));
        assert!(conflict(
            "Bluetooth disconnects all the time",
            "Wi-Fi disconnects all the time"
        ));
        assert!(!conflict("启动卡顿", "打开应用很慢"));
        assert!(!conflict("Battery drains overnight", "电池一晚上掉电 30%"));
        assert!(p("Battery drains overnight")
            .agreement(&p("La batterie se vide la nuit"))
            .confirmed());
    }

    #[test]
    fn odd_text_is_read_without_panicking() {
        for text in [
            "",
            "   ",
            "！！！？？？",
            "\u{0}\u{7}",
            "🙂",
            &"é".repeat(10_000),
            "Ⅻ ﬁ ǅ",
        ] {
            let _ = p(text);
        }
    }
}

//! The platform's templates, static assets and UI messages.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::i18n::MessageTable;
use crate::web::{Platform, UiBundle};

pub static BUNDLE: UiBundle = UiBundle {
    templates: &[
        ("layout.html", include_str!("../templates/layout.html")),
        ("macros.html", include_str!("../templates/macros.html")),
        ("signup.html", include_str!("../templates/signup.html")),
        ("signin.html", include_str!("../templates/signin.html")),
        ("settings.html", include_str!("../templates/settings.html")),
        ("admin_users.html", include_str!("../templates/admin_users.html")),
        ("notifications.html", include_str!("../templates/notifications.html")),
        ("error.html", include_str!("../templates/error.html")),
    ],
    messages: MESSAGES,
};

pub fn static_router() -> Router<Platform> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../static/app.css")) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/app.js")) }),
        )
        .route(
            "/static/favicon.svg",
            get(|| async { asset("image/svg+xml", include_str!("../static/favicon.svg")) }),
        )
        // Browsers ask for this one whatever the page says.
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", include_str!("../static/favicon.svg")) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// (key, English, 简体中文, Français)
pub static MESSAGES: MessageTable = &[
    ("nav.search", "Search", "搜索", "Rechercher"),
    ("settings.time_zone", "Time zone", "时区", "Fuseau horaire"),
    ("settings.follow_device", "Follow this device", "跟随本设备", "Celui de cet appareil"),
    ("settings.zone_now", "Times are shown in {zone}.", "时间按 {zone} 显示。", "Les heures sont affichées pour {zone}."),
    ("nav.skip", "Skip to content", "跳到正文", "Aller au contenu"),
    ("nav.menu", "Menu", "菜单", "Menu"),
    ("nav.main", "Main", "主导航", "Navigation principale"),
    ("nav.home", "home", "首页", "accueil"),
    ("nav.orders", "My orders", "我的订单", "Mes commandes"),
    ("nav.search_placeholder", "Search threads and posts…", "搜索帖子和回复…", "Rechercher sujets et messages…"),
    ("nav.notifications", "Notifications", "通知", "Notifications"),
    ("nav.profile", "My profile", "我的主页", "Mon profil"),
    ("nav.settings", "Settings", "设置", "Paramètres"),
    ("nav.moderation", "Moderation queue", "审核队列", "File de modération"),
    ("nav.admin", "Administration", "管理后台", "Administration"),
    ("nav.signin", "Sign in", "登录", "Se connecter"),
    ("nav.signup", "Join", "注册", "S'inscrire"),
    ("nav.signout", "Sign out", "退出登录", "Se déconnecter"),
    ("footer.tagline", "where fans build the product with us", "和粉丝一起做产品", "là où les fans construisent le produit avec nous"),
    ("page.prev", "Previous", "上一页", "Précédent"),
    ("page.next", "Next", "下一页", "Suivant"),
    ("signup.title", "Join the community", "加入社区", "Rejoindre la communauté"),
    ("signup.intro", "Test weekly builds, file feedback engineers act on, and get early access to launches.", "每周体验新版本，提交工程师会处理的反馈，抢先参与新品发布。", "Testez les versions hebdomadaires, envoyez des retours suivis par les ingénieurs et accédez en avant-première aux lancements."),
    ("signup.submit", "Create account", "创建账号", "Créer le compte"),
    ("signup.have_account", "Already a member?", "已有账号？", "Déjà membre ?"),
    ("signup.password_hint", "At least 8 characters.", "至少 8 个字符。", "Au moins 8 caractères."),
    ("form.fix_below", "Please correct the fields marked below.", "请修改下方标出的内容。", "Corrigez les champs signalés ci-dessous."),
    ("error.title", "This did not work", "操作未完成", "Cela n’a pas fonctionné"),
    ("error.title_401", "Sign in to continue", "请先登录", "Connectez-vous pour continuer"),
    ("error.title_403", "Not allowed", "没有权限", "Accès refusé"),
    ("error.title_404", "Page not found", "页面不存在", "Page introuvable"),
    ("error.title_429", "Too many attempts", "操作太频繁", "Trop de tentatives"),
    ("error.title_500", "Something went wrong", "出错了", "Une erreur est survenue"),
    ("error.home", "Back to the home page", "返回首页", "Retour à l’accueil"),
    ("error.code", "Error code", "错误代码", "Code d’erreur"),
    ("signin.no_account", "New here?", "第一次来？", "Nouveau ici ?"),
    ("field.username", "Username", "用户名", "Nom d'utilisateur"),
    ("field.email", "Email", "邮箱", "E-mail"),
    ("field.password", "Password", "密码", "Mot de passe"),
    ("field.login", "Username or email", "用户名或邮箱", "Nom d'utilisateur ou e-mail"),
    ("tokens.title", "API tokens", "API 令牌", "Jetons d'API"),
    ("tokens.intro", "Scripts call /api/v1 with the header Authorization: Bearer <token>.", "脚本调用 /api/v1 时使用请求头 Authorization: Bearer <令牌>。", "Les scripts appellent /api/v1 avec l'en-tête Authorization: Bearer <jeton>."),
    ("tokens.shown_once", "Copy this token now: it will not be shown again.", "请立即复制该令牌：它只显示这一次。", "Copiez ce jeton maintenant : il ne sera plus affiché."),
    ("tokens.name", "Token name", "令牌名称", "Nom du jeton"),
    ("tokens.create", "Create token", "创建令牌", "Créer un jeton"),
    ("tokens.created", "Created", "创建时间", "Créé le"),
    ("tokens.last_used", "Last used", "最近使用", "Dernière utilisation"),
    ("tokens.revoke", "Revoke", "撤销", "Révoquer"),
    ("tokens.none", "No tokens yet.", "还没有令牌。", "Aucun jeton pour l'instant."),
    ("admin.users", "Members and roles", "成员与角色", "Membres et rôles"),
    ("admin.boards", "Boards", "版块管理", "Forums"),
    ("admin.new_board", "New board", "新建版块", "Nouveau forum"),
    ("admin.slug", "Address (slug)", "网址标识", "Adresse (identifiant)"),
    ("admin.position", "Position", "排序", "Position"),
    ("admin.role", "Role", "角色", "Rôle"),
    ("admin.team", "Team", "团队", "Équipe"),
    ("admin.joined", "Joined", "注册时间", "Inscrit le"),
    ("admin.save", "Save", "保存", "Enregistrer"),
    ("role.fan", "Fan", "粉丝", "Fan"),
    ("role.beta_tester", "Beta tester", "内测用户", "Bêta-testeur"),
    ("role.honorary_developer", "Honorary developer", "荣誉开发组", "Développeur honoraire"),
    ("role.staff", "Staff", "官方员工", "Équipe"),
    ("role.moderator", "Moderator", "版主", "Modérateur"),
    ("role.admin", "Administrator", "管理员", "Administrateur"),
    ("badge.staff", "Staff", "官方", "Équipe"),
    ("notif.reply", "New reply", "新回复", "Nouvelle réponse"),
    ("notif.mention", "Mentioned you", "提到了你", "Vous a mentionné"),
    ("notif.staff_answer", "Staff answered", "官方已回复", "Réponse de l'équipe"),
    ("notif.role_changed", "Your role changed", "你的身份已变更", "Votre rôle a changé"),
    ("notif.status_changed", "Status update", "状态更新", "Changement de statut"),
    ("notif.promoted", "You were promoted", "你已晋升", "Vous avez été promu"),
    ("notif.campaign_winner", "Your entry won", "你的作品获奖了", "Votre participation a gagné"),
    ("notif.fcode_issued", "You have an F-code for", "你获得了F码：", "Vous avez un code F pour"),
    ("notif.mark_all", "Mark all as read", "全部标为已读", "Tout marquer comme lu"),
    ("notif.none", "No notifications yet.", "暂无通知。", "Aucune notification."),
];

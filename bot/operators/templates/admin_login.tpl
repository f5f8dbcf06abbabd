% rebase("admin_page.tpl", title="wxocr admin login", style=style)
<h1>wxocr 用量 · 登录</h1>
% if message:
<p class="error" id="login-error">{{message}}</p>
% end
<form method="post" action="{{base}}/login" id="login-form">
<label>管理令牌 admin token <input type="password" name="token" id="token" autofocus
 autocomplete="current-password"></label> <button type="submit">登录</button></form>

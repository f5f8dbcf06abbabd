% rebase("admin_page.tpl", title="wxocr admin", style=style)
<h1>wxocr 用量</h1><p class="muted">时间为 {{tz}} · <a href="{{base}}/logout">退出</a></p>
<form class="filters" method="get" action="{{base}}/" id="filters">
% for f in fields:
%   if f.options is None:
<label>{{f.label}}<input name="{{f.name}}" id="f-{{f.name}}" value="{{f.value}}" size="12"></label>
%   else:
<label>{{f.label}}<select name="{{f.name}}" id="f-{{f.name}}"><option value="">全部 all</option>
%     for key, text in f.options.items():
<option value="{{key}}"{{" selected" if key == f.value else ""}}>{{text}} {{key}}</option>
%     end
</select></label>
%   end
% end
<fieldset><legend class="muted">分组 group by</legend>
% for g in all_group_by:
<label><span><input type="checkbox" name="group_by" value="{{g.value}}" id="g-{{g.value}}"{{" checked" if g in group_by else ""}}> {{g.value}}</span></label>
% end
</fieldset><button type="submit" id="apply">查询</button></form>
% if error:
<p class="error" id="filter-error">{{error}}</p>
% end
<h2>每日请求</h2>
% for chart in charts:
%   include("admin_chart.tpl", chart=chart)
% end
<h2>分组统计</h2><p class="muted"><a href="{{json_link}}" id="json-link">JSON</a></p>
<table id="groups"><thead><tr>
% for g in group_by:
<th class="key">{{g.value}}</th>
% end
<th>count</th><th>ok</th><th>success</th><th>p50 ms</th><th>p95 ms</th></tr></thead><tbody>
% for group in groups:
<tr>
%   for g in group_by:
<td class="key">{{group.keys[g.value]}}</td>
%   end
<td>{{group.count}}</td><td>{{group.ok}}</td><td>{{f"{group.success_rate:.1%}"}}</td><td>{{format_ms(group.p50_ms)}}</td><td>{{format_ms(group.p95_ms)}}</td></tr>
% end
% if not groups:
<tr><td colspan="{{len(group_by) + 5}}">无记录 no rows</td></tr>
% end
</tbody></table>
<h2>最近错误</h2>
<table id="errors"><thead><tr><th>time</th><th>openid</th><th>kind</th><th>engine</th><th>outcome</th><th>error</th><th>errcode</th><th>ms</th></tr></thead><tbody>
% for when, row in errors:
<tr><td>{{when}}</td><td>{{row.openid}}</td><td>{{row.kind}}</td><td>{{row.engine}}</td><td>{{row.outcome}}</td><td>{{row.error_code}}</td><td>{{row.errcode}}</td><td>{{format_ms(row.latency_ms)}}</td></tr>
% end
% if not errors:
<tr><td colspan="8">无错误 no errors</td></tr>
% end
</tbody></table>

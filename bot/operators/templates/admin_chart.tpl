% if not chart.bars:
<p class="muted" id="{{chart.id}}-empty">{{chart.title}}：无数据 no data</p>
% else:
<svg class="chart" id="{{chart.id}}" data-total="{{chart.total}}" role="img" viewBox="0 0 {{chart.width}} {{chart.height}}" xmlns="http://www.w3.org/2000/svg">
<title>{{chart.title}}</title>
<text x="{{chart.left}}" y="14">{{chart.title}}（最高 {{chart.day_max}}/天）</text>
<line x1="{{chart.left}}" y1="{{chart.top + chart.plot_h}}" x2="{{chart.width - 10}}" y2="{{chart.top + chart.plot_h}}" stroke="#999"/>
<text x="{{chart.left - 4}}" y="{{chart.top + 4}}" text-anchor="end">{{chart.day_max}}</text>
<text x="{{chart.left - 4}}" y="{{chart.top + chart.plot_h}}" text-anchor="end">0</text>
%   for bar in chart.bars:
<rect x="{{bar.x}}" y="{{bar.y}}" width="{{bar.width}}" height="{{bar.height}}" fill="{{bar.fill}}" data-day="{{bar.day}}" data-series="{{bar.series}}" data-count="{{bar.count}}"><title>{{bar.day}} {{bar.series}}: {{bar.count}}</title></rect>
%   end
%   for x, text in chart.day_labels:
<text x="{{x}}" y="{{chart.top + chart.plot_h + 14}}" text-anchor="middle">{{text}}</text>
%   end
%   for x, color, text in chart.legend:
<rect x="{{x}}" y="{{chart.height - 14}}" width="10" height="10" fill="{{color}}"/><text x="{{x + 14}}" y="{{chart.height - 5}}">{{text}}</text>
%   end
</svg>
% end

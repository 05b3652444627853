/**
 * The report page's only script: click a finding to spotlight its bars. The page's
 * Content-Security-Policy allows exactly this script, by its hash.
 */
export const REPORT_SCRIPT = `
document.addEventListener('click',function(e){
  var li=e.target.closest&&e.target.closest('li[data-f]');
  if(!li)return;
  var trace=li.closest('.trace');
  var on=!li.classList.contains('on');
  trace.querySelectorAll('li.on').forEach(function(x){x.classList.remove('on')});
  trace.querySelectorAll('.bar').forEach(function(b){b.classList.remove('dim','focus')});
  if(!on)return;
  li.classList.add('on');
  var id=li.getAttribute('data-f');
  trace.querySelectorAll('.bar').forEach(function(b){
    var fs=(b.getAttribute('data-f')||'').split(' ');
    if(fs.indexOf(id)>=0)b.classList.add('focus');else b.classList.add('dim');
  });
});
`;

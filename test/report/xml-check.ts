// A small XML well-formedness check for the report's inline SVG: balanced tags, quoted attributes, no stray `<`
// or `&`, only the five XML entities or numeric references. Returns the problems found (empty when well formed).
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    if (m[0] === '<') { problems.push(`stray '<' at ${m.index}: ${xml.slice(m.index, m.index + 30)}`); continue; }
    if (m[0].startsWith('&')) { problems.push(`bad entity at ${m.index}: ${xml.slice(m.index, m.index + 12)}`); continue; }
    const [, close, name, attrs, selfClose] = m;
    const names = [...attrs!.matchAll(/([\w:.-]+)=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) problems.push(`duplicate attribute in <${name}>`);
    if (close) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${m.index}`);
    } else if (!selfClose) stack.push(name!);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  return problems;
}

// The API page: renders /openapi.json (the same document the server's routes are checked against).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function resolve(document, schema, depth = 0) {
    if (!schema || depth > 6) return schema;
    if (schema.$ref) {
      const target = schema.$ref.replace('#/', '').split('/').reduce((node, part) => (node ? node[part] : undefined), document);
      return resolve(document, target, depth + 1);
    }
    const copy = Array.isArray(schema) ? [] : {};
    for (const [name, value] of Object.entries(schema)) copy[name] = typeof value === 'object' && value !== null ? resolve(document, value, depth + 1) : value;
    return copy;
  }

  function operation(document, path, method, op) {
    const secured = !(Array.isArray(op.security) && op.security.length === 0);
    const parameters = (op.parameters || []).map((p) => resolve(document, p));
    const body = el('div', { class: 'body' });
    if (op.description) body.append(el('p', { class: 'description', text: op.description }));
    if (parameters.length) {
      body.append(el('h3', { text: 'Parameters' }), el('div', { class: 'scroll' }, el('table', { class: 'data' },
        el('thead', {}, el('tr', {}, ['name', 'in', 'type', 'required', 'description'].map((h) => el('th', { text: h })))),
        el('tbody', {}, parameters.map((p) => el('tr', {}, el('td', { text: p.name }), el('td', { text: p.in }),
          el('td', { text: p.schema ? [].concat(p.schema.type || '').join(' | ') + (p.schema.enum ? ` (${p.schema.enum.join(', ')})` : '') : '' }),
          el('td', { text: p.required ? 'yes' : '' }), el('td', { text: p.description || '' })))))));
    }
    if (op.requestBody) {
      const request = resolve(document, op.requestBody);
      for (const [type, media] of Object.entries(request.content || {})) {
        body.append(el('h3', { text: `Request body (${type})` }), el('pre', { class: 'schema', text: JSON.stringify(media.schema || {}, null, 2) }));
      }
    }
    body.append(el('h3', { text: 'Responses' }));
    for (const [status, response] of Object.entries(op.responses || {})) {
      const resolved = resolve(document, response);
      const types = Object.keys(resolved.content || {});
      body.append(el('details', {}, el('summary', {}, el('strong', { text: status }), ` ${resolved.description || ''}`, types.length ? el('span', { class: 'muted', text: ` · ${types.join(', ')}` }) : null),
        ...types.map((type) => el('pre', { class: 'schema', text: JSON.stringify((resolved.content[type] || {}).schema || {}, null, 2) }))));
    }
    const details = el('details', { class: 'operation', 'data-search': `${method} ${path} ${(op.tags || []).join(' ')} ${op.summary || ''}`.toLowerCase() },
      el('summary', {}, el('span', { class: `method ${method}`, text: method.toUpperCase() }), el('span', { class: 'path', text: path }),
        el('span', { text: op.summary || '' }), ...(op.tags || []).map((tag) => el('span', { class: 'tag', text: tag })),
        secured ? el('span', { class: 'lock', text: 'key' }) : el('span', { class: 'tag', text: 'public' })),
      body);
    return details;
  }

  document.addEventListener('DOMContentLoaded', async () => {
    const response = await fetch('/openapi.json', { cache: 'no-store' });
    const document = await response.json();
    $('api-version').textContent = `${document.info.version} · OpenAPI ${document.openapi}`;
    $('api-intro').append(el('h2', { text: document.info.title }), el('p', { class: 'description', text: document.info.description || '' }));
    const list = $('operations');
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of ['get', 'put', 'post', 'patch', 'delete', 'head']) {
        if (item[method]) list.append(operation(document, path, method, item[method]));
      }
    }
    $('filter').addEventListener('input', () => {
      const words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const node of list.children) node.hidden = !words.every((word) => node.dataset.search.includes(word));
    });
  });
})();

import { isMap, isSeq, parseDocument, stringify as stringifyYaml, type Node } from 'yaml';
import { topicDefinitionSchema, type TopicDefinition } from '../config/topic-schema.js';
import { topicHash } from './list-set.js';

type Field = keyof typeof topicDefinitionSchema.shape;
const shape = topicDefinitionSchema.shape as Record<string, (typeof topicDefinitionSchema.shape)[Field]>;

/** A value (or a list entry) as the schema reads it, defaults filled in: equal when they mean the same. */
const meaning = (key: string, value: unknown) => {
  const parsed = shape[key]?.safeParse(value);
  return JSON.stringify(parsed?.success ? parsed.data : value);
};
const entryMeaning = (key: string, entry: unknown) => {
  const parsed = shape[key]?.safeParse([entry]);
  return JSON.stringify(parsed?.success && Array.isArray(parsed.data) ? parsed.data[0] : entry);
};

/**
 * The text of a topic file holding `topic`. A YAML file is edited in place: fields and list
 * entries that keep their meaning keep their node (their comments and style), new entries are
 * appended where they go, removed ones dropped. When the edit would not read back as `topic`
 * (an unusual file), the whole file is written afresh.
 */
export function topicFileText(topic: TopicDefinition, existing: { text: string; json: boolean } | undefined): string {
  if (existing?.json) return `${JSON.stringify(topic, null, 2)}\n`;
  const fresh = () => stringifyYaml(topic, { lineWidth: 0 });
  if (!existing) return fresh();
  const doc = parseDocument(existing.text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return fresh();
  const wanted = topic as Record<string, unknown>;
  for (const key of Object.keys(doc.toJS() as Record<string, unknown>)) if (!(key in wanted) || wanted[key] === undefined) doc.delete(key);
  for (const [key, want] of Object.entries(wanted)) {
    if (want === undefined) continue;
    const node = doc.get(key, true) as Node | undefined;
    if (node === undefined) {
      // A default the file leaves out stays out.
      if (meaning(key, want) !== meaning(key, undefined)) doc.set(key, want);
      continue;
    }
    if (meaning(key, node.toJSON()) === meaning(key, want)) continue;
    if (Array.isArray(want) && isSeq(node)) {
      const pool = node.items.map((item) => ({ item, meaning: entryMeaning(key, (item as Node).toJSON?.() ?? item), used: false }));
      const flow = node.items.some((item) => isMap(item) && item.flow);
      node.items = want.map((entry) => {
        const m = entryMeaning(key, entry);
        const kept = pool.find((p) => !p.used && p.meaning === m);
        if (kept) {
          kept.used = true;
          return kept.item;
        }
        const created = doc.createNode(entry);
        if (flow && isMap(created)) created.flow = true;
        return created;
      });
      continue;
    }
    doc.set(key, want);
  }
  const text = doc.toString({ lineWidth: 0 });
  // Written only when it reads back as exactly this definition.
  const back = topicDefinitionSchema.safeParse(parseDocument(text).toJS());
  return back.success && topicHash(back.data) === topicHash(topic) ? text : fresh();
}

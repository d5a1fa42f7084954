/**
 * The evasion table: evasions that must match, and benign near-misses that must not, in several
 * scripts and languages. Each row is what a moderator would see for one post: which term was
 * found, and which normalizations it took to find it.
 */
import { describe, it, expect } from 'vitest';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load.js';
import { topicDefinitionSchema, type TopicDefinitionInput } from '../../../src/config/topic-schema.js';
import { NORMALIZATIONS, type Normalization } from '../../../src/normalize/text.js';
import { compileLexicon, type Lexicon } from '../../../src/scoring/lexicon.js';

interface Case {
  name: string;
  text: string;
  hashtags: string[];
  lang?: string;
  /** "topic/term" that must be found, with the normalizations its plainest find needed. */
  hit?: { ref: string; normalizations: Normalization[] };
  /** "topic/term" or "topic" that must not be found; with neither hit nor miss, nothing may be. */
  miss?: string;
}

interface Extra {
  hashtags?: string[];
  lang?: string;
}

// Invisible characters are spelled out, so that test names show what the row is about.
const visible = (text: string) =>
  JSON.stringify(text).replace(/[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu, (ch) => `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`);

const label = (text: string, extra: Extra) =>
  [visible(text), extra.hashtags ? `tags ${JSON.stringify(extra.hashtags)}` : '', extra.lang ? `lang ${extra.lang}` : ''].filter(Boolean).join(' ');

const hit = (text: string, ref: string, normalizations: Normalization[] = [], extra: Extra = {}): Case => ({
  name: `finds ${ref} in ${label(text, extra)}${normalizations.length ? ` [${normalizations.join(', ')}]` : ''}`,
  text,
  hashtags: extra.hashtags ?? [],
  lang: extra.lang,
  hit: { ref, normalizations },
});

const miss = (text: string, ref?: string, extra: Extra = {}): Case => ({
  name: `does not find ${ref ?? 'anything'} in ${label(text, extra)}`,
  text,
  hashtags: extra.hashtags ?? [],
  lang: extra.lang,
  ...(ref ? { miss: ref } : {}),
});

const byOrder = (names: readonly Normalization[]) => [...names].sort((a, b) => NORMALIZATIONS.indexOf(a) - NORMALIZATIONS.indexOf(b));

function check(lexicon: Lexicon, c: Case) {
  const matches = lexicon.match({ text: c.text, hashtags: c.hashtags, lang: c.lang });
  const refOf = (m: { topic: string; term: string }) => `${m.topic}/${m.term}`;
  if (c.hit) {
    const finds = matches.filter((m) => refOf(m) === c.hit!.ref);
    expect(finds.map(refOf), `found: ${JSON.stringify(matches.map(refOf))}`).toContain(c.hit.ref);
    // A term found several times is explained by its plainest find (as in scoreSignal).
    const plainest = finds.reduce((a, b) => (b.normalizations.length < a.normalizations.length ? b : a));
    expect(plainest.normalizations).toEqual(byOrder(c.hit.normalizations));
  } else if (c.miss) {
    const ref = c.miss;
    expect(matches.map(refOf).filter((r) => r === ref || r.startsWith(`${ref}/`))).toEqual([]);
  } else {
    expect(matches.map(refOf)).toEqual([]);
  }
}

const topic = (input: Partial<TopicDefinitionInput> & Pick<TopicDefinitionInput, 'id'>) =>
  topicDefinitionSchema.parse({ name: input.id, severity: 'high', ...input });

const fixtureTopics = [
  topic({
    id: 'self-harm',
    terms: [
      'kill myself',
      'want to die',
      'suicide',
      'end my life',
      'sewerslide',
      'unalive',
      '🔪',
      { term: 'suicid', mode: 'prefix' },
      { term: 'ProAna', mode: 'hashtag' },
    ],
    hashtags: ['WantToDie', 'selfharm'],
    exclusions: ['suicide squad', 'suicide prevention', { phrase: 'kill myself laughing', terms: ['kill myself'] }],
  }),
  topic({
    id: 'aggressive',
    terms: [
      { term: 'kill myself', mode: 'aggressive' },
      { term: 'sewerslide', mode: 'aggressive' },
      { term: 'unalive', mode: 'aggressive' },
      { term: '死にたい', mode: 'aggressive' },
      { term: '自殺', mode: 'aggressive' },
    ],
  }),
  topic({ id: 'abuse', terms: ['kill yourself', 'kys', 'rapist', 'rape', 'cunt', 'ass', 'butt', 'sex'] }),
  topic({ id: 'threats', terms: ['kill', 'cop'] }),
  topic({ id: 'extremism', terms: ['isis'] }),
  topic({ id: 'drugs', terms: ['❄️', '🔌'] }),
  topic({
    id: 'multilingual',
    terms: [
      'убить себя',
      'хочу умереть',
      { term: 'me quiero morir', lang: 'es' },
      'mátate',
      { term: 'quero morrer', lang: 'pt' },
      'ich will sterben',
      'scheiße',
      'انتحار',
      'आत्महत्या',
      '死にたい',
      'ジサツ',
      'θέλω να πεθάνω',
    ],
  }),
];

const fixtureCases: Case[] = [
  // Plain text, as a baseline.
  hit('i want to kill myself', 'self-harm/kill myself'),
  hit('suicide', 'self-harm/suicide'),
  hit('I just WANT TO DIE', 'self-harm/want to die'),
  hit('he is a rapist.', 'abuse/rapist'),
  hit('kill\n\n   myself', 'self-harm/kill myself'),

  // Spaced, dotted and dashed letters.
  hit('s u i c i d e', 'self-harm/suicide', ['spaced_letters']),
  hit('S U I C I D E', 'self-harm/suicide', ['spaced_letters']),
  hit('s  u  i  c  i  d  e', 'self-harm/suicide', ['spaced_letters']),
  hit('k i l l myself', 'self-harm/kill myself', ['spaced_letters']),
  hit('i want to d i e', 'self-harm/want to die', ['spaced_letters']),
  hit('k y s', 'abuse/kys', ['spaced_letters']),
  hit('e n d my l i f e', 'self-harm/end my life', ['spaced_letters']),
  hit('k.i.l.l myself', 'self-harm/kill myself', ['spaced_letters']),
  hit('s.u.i.c.i.d.e', 'self-harm/suicide', ['spaced_letters']),
  hit('k.i.l.l m.y.s.e.l.f', 'self-harm/kill myself', ['spaced_letters']),
  hit('r.a.p.i.s.t', 'abuse/rapist', ['spaced_letters']),
  hit('s-u-i-c-i-d-e', 'self-harm/suicide', ['spaced_letters']),
  hit('k-i-l-l m-y-s-e-l-f', 'self-harm/kill myself', ['spaced_letters']),
  hit('k_i_l_l myself', 'self-harm/kill myself', ['spaced_letters']),
  hit('s*u*i*c*i*d*e', 'self-harm/suicide', ['spaced_letters']),
  hit('s . u . i . c . i . d . e', 'self-harm/suicide', ['spaced_letters']),
  hit('k/i/l/l myself', 'self-harm/kill myself', ['spaced_letters']),

  // Leetspeak, including $ for s.
  hit('k1ll mys3lf', 'self-harm/kill myself', ['leetspeak']),
  hit('K1LL MY53LF', 'self-harm/kill myself', ['leetspeak']),
  hit('5u1c1d3', 'self-harm/suicide', ['leetspeak']),
  hit('su!c!de', 'self-harm/suicide', ['leetspeak']),
  hit('w4nt t0 d1e', 'self-harm/want to die', ['leetspeak']),
  hit('3nd my l1fe', 'self-harm/end my life', ['leetspeak']),
  hit('r@pist', 'abuse/rapist', ['leetspeak']),
  hit('r4p1st', 'abuse/rapist', ['leetspeak']),
  hit('4ss', 'abuse/ass', ['leetspeak']),
  hit('a$$', 'abuse/ass', ['leetspeak']),
  hit('1S1S', 'extremism/isis', ['leetspeak']),
  hit('k!ll yourself', 'abuse/kill yourself', ['leetspeak']),
  hit('$ewer$lide', 'self-harm/sewerslide', ['leetspeak']),
  hit('$uicide', 'self-harm/suicide', ['leetspeak']),
  hit('kill my$elf', 'self-harm/kill myself', ['leetspeak']),
  hit('$3x', 'abuse/sex', ['leetspeak']),

  // Cyrillic and Greek look-alikes mixed into Latin words.
  hit('kіll myself', 'self-harm/kill myself', ['confusables']),
  hit('suісіdе', 'self-harm/suicide', ['confusables']),
  hit('ѕuicide', 'self-harm/suicide', ['confusables']),
  hit('kill mysеlf', 'self-harm/kill myself', ['confusables']),
  hit('rаpist', 'abuse/rapist', ['confusables']),
  hit('want tо die', 'self-harm/want to die', ['confusables']),
  hit('sеx', 'abuse/sex', ['confusables']),
  hit('suιcιde', 'self-harm/suicide', ['confusables']),
  hit('kιll myself', 'self-harm/kill myself', ['confusables']),
  hit('rαpist', 'abuse/rapist', ['confusables']),
  hit('ιsιs', 'extremism/isis', ['confusables']),
  hit('want tο die', 'self-harm/want to die', ['confusables']),
  // Words made only of look-alikes, inside English text.
  hit('kill the сор', 'threats/cop', ['confusables']),
  hit('call the СОР now', 'threats/cop', ['confusables']),
  hit('send ѕех pics', 'abuse/sex', ['confusables']),
  hit('ѕ u i c i d e', 'self-harm/suicide', ['confusables', 'spaced_letters']),

  // Fullwidth and math-alphanumeric fonts.
  hit('ｋｉｌｌ ｍｙｓｅｌｆ', 'self-harm/kill myself', ['width_or_font']),
  hit('ｓｕｉｃｉｄｅ', 'self-harm/suicide', ['width_or_font']),
  hit('ＫＹＳ', 'abuse/kys', ['width_or_font']),
  hit('𝓴𝓲𝓵𝓵 𝓶𝔂𝓼𝓮𝓵𝓯', 'self-harm/kill myself', ['width_or_font']),
  hit('𝐤𝐢𝐥𝐥 𝐦𝐲𝐬𝐞𝐥𝐟', 'self-harm/kill myself', ['width_or_font']),
  hit('𝕜𝕚𝕝𝕝 𝕞𝕪𝕤𝕖𝕝𝕗', 'self-harm/kill myself', ['width_or_font']),
  hit('𝔨𝔦𝔩𝔩 𝔪𝔶𝔰𝔢𝔩𝔣', 'self-harm/kill myself', ['width_or_font']),
  hit('𝚔𝚒𝚕𝚕 𝚖𝚢𝚜𝚎𝚕𝚏', 'self-harm/kill myself', ['width_or_font']),
  hit('𝘀𝘂𝗶𝗰𝗶𝗱𝗲', 'self-harm/suicide', ['width_or_font']),
  hit('𝑟𝑎𝑝𝑖𝑠𝑡', 'abuse/rapist', ['width_or_font']),

  // Zero-width and other invisible characters inside words.
  hit('ki\u200Bll myself', 'self-harm/kill myself', ['invisible_chars']),
  hit('ki\u200Cll my\u200Dself', 'self-harm/kill myself', ['invisible_chars']),
  hit('sui\u00ADcide', 'self-harm/suicide', ['invisible_chars']),
  hit('\uFEFFsui\u2060cide', 'self-harm/suicide', ['invisible_chars']),
  hit('sui\u202Ecide', 'self-harm/suicide', ['invisible_chars']),
  hit('sui\u{E0041}cide', 'self-harm/suicide', ['invisible_chars']),
  hit('k\u034Fill myself', 'self-harm/kill myself', ['invisible_chars']),
  hit('ra\u200Bpi\u200Bst', 'abuse/rapist', ['invisible_chars']),
  hit('want to d\u00ADie', 'self-harm/want to die', ['invisible_chars']),

  // Diacritics and zalgo marks.
  hit('kíll mýsélf', 'self-harm/kill myself', ['diacritics']),
  hit('süïcïdé', 'self-harm/suicide', ['diacritics']),
  hit('suicide\u0301', 'self-harm/suicide', ['diacritics']),
  hit('k̷̢i̸l̴l̵ m̶y̷s̸e̵l̶f̴', 'self-harm/kill myself', ['diacritics']),
  hit('s̸̡u̷i̶c̵i̷d̴e̵', 'self-harm/suicide', ['diacritics']),
  hit('ŕàpíšt', 'abuse/rapist', ['diacritics']),

  // Repeated letters (a doubled letter is ordinary spelling and needs no flag).
  hit('kiiiiill myseeeelf', 'self-harm/kill myself', ['repeated_letters']),
  hit('suiiiiicide', 'self-harm/suicide', ['repeated_letters']),
  hit('waaant to dieeee', 'self-harm/want to die', ['repeated_letters']),
  hit('kyyyyys', 'abuse/kys', ['repeated_letters']),
  hit('kiill myself', 'self-harm/kill myself'),

  // Several evasions at once.
  hit('ｋ1ｌ\u200Bｌ mу$еlf', 'self-harm/kill myself', ['width_or_font', 'invisible_chars', 'confusables', 'leetspeak']),
  hit('ＳＵＩＩＩＩＣＩＤＥ', 'self-harm/suicide', ['width_or_font', 'repeated_letters']),
  hit('K̷1̷L̷L̷ myself', 'self-harm/kill myself', ['diacritics', 'leetspeak']),

  // Emoji as code words.
  hit('sad🔪now', 'self-harm/🔪'),
  hit('just 🔪 tonight', 'self-harm/🔪'),
  hit('🔪🔪🔪', 'self-harm/🔪'),
  hit('i need ❄ tonight', 'drugs/❄️'),
  hit('i need ❄️ tonight', 'drugs/❄️'),
  hit('hit up the 🔌', 'drugs/🔌'),

  // Topic hashtags and hashtag-mode terms: the whole tag.
  hit('', 'self-harm/#WantToDie', [], { hashtags: ['WantToDie'] }),
  hit('', 'self-harm/#WantToDie', [], { hashtags: ['wanttodie'] }),
  hit('so tired #WantToDie', 'self-harm/#WantToDie'),
  hit('', 'self-harm/ProAna', [], { hashtags: ['ProAna'] }),
  hit('', 'self-harm/ProAna', [], { hashtags: ['PROANA'] }),
  hit('tips #proana', 'self-harm/ProAna'),
  hit('', 'self-harm/#selfharm', [], { hashtags: ['selfharm'] }),
  hit('#SelfHarm', 'self-harm/#selfharm'),

  // Hashtags segmented into words: #CamelCase and #alllowercase.
  hit('', 'self-harm/want to die', ['hashtag_segmented'], { hashtags: ['iwanttodie'] }),
  hit('', 'self-harm/want to die', ['hashtag_segmented'], { hashtags: ['IWantToDie'] }),
  hit('#iwanttodie', 'self-harm/want to die', ['hashtag_segmented']),
  hit('#killmyself', 'self-harm/kill myself', ['hashtag_segmented']),
  hit('#KillMyself', 'self-harm/kill myself', ['hashtag_segmented']),
  hit('', 'self-harm/kill myself', ['hashtag_segmented'], { hashtags: ['kill_myself'] }),
  hit('', 'self-harm/end my life', ['hashtag_segmented'], { hashtags: ['EndMyLife'] }),
  hit('', 'self-harm/end my life', ['hashtag_segmented'], { hashtags: ['endmylife'] }),
  hit('', 'self-harm/want to die', ['repeated_letters', 'hashtag_segmented'], { hashtags: ['wanttodieeee'] }),
  hit('', 'self-harm/want to die', ['leetspeak', 'hashtag_segmented'], { hashtags: ['w4nttod1e'] }),
  hit('#k1llmys3lf', 'self-harm/kill myself', ['leetspeak', 'hashtag_segmented']),

  // Prefix terms.
  hit('suicidal thoughts', 'self-harm/suicid'),
  hit('SUICIDALITY', 'self-harm/suicid'),
  hit('$uicidal', 'self-harm/suicid', ['leetspeak']),
  hit('s u i c i d a l', 'self-harm/suicid', ['spaced_letters']),
  hit('suiiiicidal', 'self-harm/suicid', ['repeated_letters']),
  hit('ѕuicidal', 'self-harm/suicid', ['confusables']),

  // Aggressive terms: anywhere in the separator-stripped view.
  hit('kill my self', 'aggressive/kill myself', ['separator_stripped']),
  hit('killmyself', 'aggressive/kill myself', ['separator_stripped']),
  hit('ki llmy self', 'aggressive/kill myself', ['separator_stripped']),
  hit('kill-my-self', 'aggressive/kill myself', ['separator_stripped']),
  hit('k i l l m y s e l f', 'aggressive/kill myself', ['spaced_letters', 'separator_stripped']),
  hit('k1ll mys3lf', 'aggressive/kill myself', ['leetspeak', 'separator_stripped']),
  hit('sewer slide', 'aggressive/sewerslide', ['separator_stripped']),
  hit('$ewer $lide', 'aggressive/sewerslide', ['leetspeak', 'separator_stripped']),
  hit('un alive', 'aggressive/unalive', ['separator_stripped']),
  hit('un-alive myself', 'aggressive/unalive', ['separator_stripped']),
  hit('#unaliveme', 'aggressive/unalive', ['separator_stripped']),
  hit('本当に死にたい', 'aggressive/死にたい', ['separator_stripped']),
  hit('自殺したい', 'aggressive/自殺', ['separator_stripped']),
  hit('死 に た い', 'aggressive/死にたい', ['spaced_letters', 'separator_stripped']),

  // Exclusions cancel overlapping terms of their topic only.
  miss('suicide squad', 'self-harm'),
  miss('Suicide Squad 2 was great', 'self-harm'),
  miss('SUICIDE  SQUAD', 'self-harm'),
  miss('s u i c i d e squad', 'self-harm'),
  miss('suicide prevention month', 'self-harm'),
  miss('', 'self-harm', { hashtags: ['SuicideSquad'] }),
  miss('i could kill myself laughing', 'self-harm/kill myself'),
  hit('kill myself laughing, suicide', 'self-harm/suicide'),
  hit('kill myself laughing. no really, i want to kill myself', 'self-harm/kill myself'),
  hit('suicide squad? no. suicide.', 'self-harm/suicide'),

  // Terms with a language match signals in it, or without one.
  hit('me quiero morir', 'multilingual/me quiero morir'),
  hit('me quiero morir', 'multilingual/me quiero morir', [], { lang: 'es' }),
  hit('ME QUIERO MORIR', 'multilingual/me quiero morir', [], { lang: 'es-MX' }),
  hit('me quiero moriiiir', 'multilingual/me quiero morir', ['repeated_letters'], { lang: 'es' }),
  miss('me quiero morir', 'multilingual/me quiero morir', { lang: 'en' }),
  hit('quero morrer', 'multilingual/quero morrer', [], { lang: 'pt-BR' }),
  hit('QUERO MORREEER', 'multilingual/quero morrer', ['repeated_letters'], { lang: 'pt' }),
  miss('quero morrer', 'multilingual/quero morrer', { lang: 'es' }),

  // Spanish, German, Russian, Arabic, Hindi, Japanese, Greek.
  // The term is written with its accents: the same accents in the text are no evasion.
  hit('MÁTATE', 'multilingual/mátate', []),
  hit('MATATE', 'multilingual/mátate', []), // accents left out: informal spelling, not evasion
  hit('matate', 'multilingual/mátate'),
  hit('m4tate', 'multilingual/mátate', ['leetspeak']),
  hit('ICH WILL STERBEN', 'multilingual/ich will sterben'),
  hit('ich w1ll sterben', 'multilingual/ich will sterben', ['leetspeak']),
  hit('scheisse', 'multilingual/scheiße'),
  hit('SCHEISSE', 'multilingual/scheiße'),
  hit('Scheiẞe', 'multilingual/scheiße'),
  hit('УБИТЬ СЕБЯ', 'multilingual/убить себя'),
  hit('хочу умереееть', 'multilingual/хочу умереть', ['repeated_letters']),
  hit('х о ч у умереть', 'multilingual/хочу умереть', ['spaced_letters']),
  hit('у.б.и.т.ь себя', 'multilingual/убить себя', ['spaced_letters']),
  hit('хочу у\u200Bмереть', 'multilingual/хочу умереть', ['invisible_chars']),
  hit('انتحار', 'multilingual/انتحار'),
  hit('فكرة انتحار', 'multilingual/انتحار'),
  hit('انت\u200Cحار', 'multilingual/انتحار', ['invisible_chars']),
  hit('आत्महत्या करना', 'multilingual/आत्महत्या'),
  hit('आत्म\u200Bहत्या', 'multilingual/आत्महत्या', ['invisible_chars']),
  hit('死にたい', 'multilingual/死にたい'),
  hit('死にたい。', 'multilingual/死にたい'),
  hit('ｼﾞｻﾂ', 'multilingual/ジサツ', ['width_or_font']),
  hit('ΘΕΛΩ ΝΑ ΠΕΘΑΝΩ', 'multilingual/θέλω να πεθάνω'),
  // A Russian word in Russian text is not folded into the Latin word it looks like.
  miss('в комнате сор', 'threats/cop'),
  miss('сор и мусор', 'threats/cop'),

  // Benign near-misses: the classic false positives and friends.
  miss('grape', 'abuse/rape'),
  miss('grapes and drapes', 'abuse'),
  miss('rapeseed oil', 'abuse/rape'),
  miss('Scunthorpe', 'abuse/cunt'),
  miss('Scunthorpe United won', 'abuse'),
  miss('my therapist said so', 'abuse/rapist'),
  miss('therapists', 'abuse/rapist'),
  miss('thanks @therapist', 'abuse/rapist'),
  miss('i will skill myself up', 'self-harm/kill myself'),
  miss('kill myselfie', 'self-harm/kill myself'),
  miss('myself kill', 'self-harm/kill myself'),
  miss('kill, not myself', 'self-harm/kill myself'),
  miss('assassin', 'abuse/ass'),
  miss('class', 'abuse/ass'),
  miss('bass guitar', 'abuse/ass'),
  miss('passion', 'abuse/ass'),
  miss('skills', 'threats/kill'),
  miss('killer app', 'threats/kill'),
  miss('k.i.l.l.e.r', 'threats/kill'),
  miss('copper', 'threats/cop'),
  miss('sussex', 'abuse/sex'),
  miss('antisuicide campaign', 'self-harm/suicid'),
  miss('sui generis', 'self-harm/suicid'),
  miss('want to diet', 'self-harm/want to die'),
  miss('we are unaligned', 'aggressive/unalive'),
  miss('sewer side', 'aggressive/sewerslide'),
  miss('🗡 tonight', 'self-harm/🔪'),
  miss('i need snow tonight', 'drugs'),
  // Numbers are not leetspeak.
  miss('1515', 'extremism/isis'),
  miss('route 1515', 'extremism/isis'),
  miss('covid19 cases in 2024'),
  miss('2024'),
  // A hashtag is not a plain word, and a hashtag term is the whole tag.
  miss('selfharm', 'self-harm/#selfharm'),
  miss('proana', 'self-harm/ProAna'),
  miss('', 'self-harm/#WantToDie', { hashtags: ['wanttodie2'] }),
  miss('', 'self-harm/ProAna', { hashtags: ['proanatips'] }),
  miss('', 'self-harm/kill myself', { hashtags: ['skillmyself'] }),
  miss('#classact', 'abuse'),
];

describe('evasion table: fixture topics', () => {
  const lexicon = compileLexicon(fixtureTopics);

  it('has at least 150 cases, both evasions and near-misses', () => {
    expect(fixtureCases.length).toBeGreaterThanOrEqual(150);
    expect(fixtureCases.filter((c) => c.hit && c.hit.normalizations.length > 0).length).toBeGreaterThanOrEqual(80);
    expect(fixtureCases.filter((c) => !c.hit).length).toBeGreaterThanOrEqual(40);
  });

  for (const c of fixtureCases) it(c.name, () => check(lexicon, c));
});

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const shippedCases: Case[] = [
  hit('i want to kill myself', 'self-harm/kill myself'),
  hit('k1ll mys3lf', 'self-harm/kill myself', ['leetspeak']),
  hit('s u i c i d e', 'self-harm/suicide', ['spaced_letters']),
  hit('ѕuicide', 'self-harm/suicide', ['confusables']),
  hit('ｓｕｉｃｉｄｅ', 'self-harm/suicide', ['width_or_font']),
  hit('𝓼𝓾𝓲𝓬𝓲𝓭𝓮', 'self-harm/suicide', ['width_or_font']),
  hit('sui\u200Bcide', 'self-harm/suicide', ['invisible_chars']),
  hit('súicídé', 'self-harm/suicide', ['diacritics']),
  hit('suiiiiicide', 'self-harm/suicide', ['repeated_letters']),
  hit('self—harm', 'self-harm/self harm'),
  hit('nobody likes youuuu', 'harassment/nobody likes you', ['repeated_letters']),
  hit('', 'self-harm/want to die', ['hashtag_segmented'], { hashtags: ['IWantToDie'] }),
  hit('#iwanttodie', 'self-harm/want to die', ['hashtag_segmented']),
  hit('#selfharm', 'self-harm/#selfharm'),
  hit('', 'self-harm/self harm', ['hashtag_segmented'], { hashtags: ['SelfHarm'] }),
  hit('k y s', 'harassment/kys', ['spaced_letters']),
  hit('DON’T TELL YOUR PARENTS', "child-safety/don't tell your parents"),
  hit('send me a p1c', 'child-safety/send me a pic', ['leetspeak']),
  hit('double your b1tcoin', 'scams-fraud/double your bitcoin', ['leetspeak']),
  hit('join the j1had', 'violent-extremism/join the jihad', ['leetspeak']),
  hit('go back to your country', 'hate-speech/go back to your country'),
  hit('copy and paste this', 'coordinated-inauthentic/copy and paste this'),
  hit('', 'coordinated-inauthentic/#f4f', [], { hashtags: ['F4F'] }),
  hit('', 'dangerous-challenges/blackout challenge', ['hashtag_segmented'], { hashtags: ['BlackoutChallenge'] }),
  hit('#blackoutchallenge', 'dangerous-challenges/#blackoutchallenge'),
  miss('but to'),
  miss('as she'),
  miss('grape'),
  miss('Scunthorpe'),
  miss('my therapist helped'),
  miss('suicide squad was great'),
  miss('suicide prevention month'),
  miss('i could kill myself laughing'),
  miss('skill myself up'),
  miss('the assassin'),
  miss('covid19 cases in 2024'),
  miss('i really want to dine'),
  miss('self harmony'),
  miss('want to diet'),
  miss('the manifest'),
  miss('dox here'),
  miss('selfharm'),
  miss('#SuicideSquad'),
  miss('#skillmyself'),
  miss('#grapejuice'),
  miss('#therapist'),
];

describe('evasion table: shipped topic lists', () => {
  const lexicon = compileLexicon(loadConfig({ env: {}, cwd: repoRoot }).topics);

  for (const c of shippedCases) it(c.name, () => check(lexicon, c));
});

/** Cases found by review of the matcher: each once failed, and must stay fixed. */
describe('evasion table: regressions', () => {
  const t = (o: Partial<TopicDefinitionInput> & { id: string }) => topicDefinitionSchema.parse({ name: o.id, severity: 'high', ...o });
  const lex = compileLexicon([
    t({ id: 'abuse', terms: ['ass', 'butt', 'rapist', 'rape', 'cunt'] }),
    t({ id: 'threats', terms: ['kill'] }),
    t({
      id: 'self-harm',
      terms: ['kill myself', 'suicide', 'sewerslide', { term: 'suicid', mode: 'prefix' }],
      hashtags: ['WantToDie', 'ProAna'],
      exclusions: ['suicide squad', 'suicide prevention'],
    }),
    t({ id: 'multilingual', terms: ['انتحار', 'mátate'] }),
  ]);
  const found = (text: string, hashtags: string[] = []) =>
    lex
      .match({ text, hashtags })
      .map((m) => `${m.topic}/${m.term}[${m.normalizations.join(',')}]`)
      .sort();

  it.each([
    // Collapsing repeats must not make a shorter real word match a doubled-letter term.
    { text: 'as she said', tags: [], want: [] },
    { text: 'but to be fair', tags: [], want: [] },
    { text: 'asss', tags: [], want: ['abuse/ass[repeated_letters]'] },
    // Hashtag splitting must not invent the classic false positives.
    { text: '', tags: ['#therapist'], want: [] },
    { text: '', tags: ['#grape'], want: [] },
    { text: '', tags: ['#Scunthorpe'], want: [] },
    { text: '', tags: ['#assassin'], want: [] },
    { text: '@kill', tags: [], want: [] },
    // Leetspeak inside spaced letters.
    { text: 's u 1 c 1 d e', tags: [], want: ['self-harm/suicid[leetspeak,spaced_letters]', 'self-harm/suicide[leetspeak,spaced_letters]'] },
    { text: '$ u i c i d e', tags: [], want: ['self-harm/suicid[leetspeak,spaced_letters]', 'self-harm/suicide[leetspeak,spaced_letters]'] },
    // Look-alikes the table lists only in upper case.
    { text: 'кill myself', tags: [], want: ['self-harm/kill myself[confusables]', 'threats/kill[confusables]'] },
    { text: 'κill myself', tags: [], want: ['self-harm/kill myself[confusables]', 'threats/kill[confusables]'] },
    { text: 'ⓚⓘⓛⓛ ⓜⓨⓢⓔⓛⓕ', tags: [], want: ['self-harm/kill myself[width_or_font]', 'threats/kill[width_or_font]'] },
    // Hashtag terms report the tag's own evasion.
    { text: '', tags: ['w4nttod1e'], want: ['self-harm/#WantToDie[leetspeak]'] },
    { text: '', tags: ['pr0ana'], want: ['self-harm/#ProAna[leetspeak]'] },
    // Inline hashtags are matched as hashtags only, so exclusions reach them.
    { text: '#SuicideSquad', tags: [], want: [] },
    { text: '#suicideprevention', tags: [], want: [] },
    { text: 'انتحـــار', tags: [], want: ['multilingual/انتحار[diacritics]'] },
    { text: 'mátate', tags: [], want: ['multilingual/mátate[]'] },
    { text: '', tags: ['SewerSlide'], want: ['self-harm/sewerslide[]'] },
    { text: 'kill ! myself', tags: [], want: ['self-harm/kill myself[]', 'threats/kill[]'] },
  ])('$text $tags', ({ text, tags, want }) => {
    expect(found(text, tags)).toEqual(want);
  });
});

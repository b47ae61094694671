"""Every page at a million messages (issue 12): a documented generator, then server times.

Seeds a fresh database with N messages (default 1,000,000) over C correspondents (default
20,000), then requests each list page, deep page and search 2 + 20 times through Django's test
client (in process, production settings, DEBUG off) and prints the median and worst server
time and the number of queries of each, flagging what is over its bound (home < 50 ms, every
other page < 150 ms).

The generator (`seed`), deterministic for a given `--seed` (dates are relative to the moment
of seeding):
- C French mobile numbers (+336…/+337…, valid for `phonenumbers`); how often each writes or
  is written to follows a Zipf-like law, so there is one busy correspondent and a long tail.
- About 60 % outbound: campaigns (one 50,000-recipient campaign, or every correspondent if
  there are fewer; then sizes from 2 to 15,000), one-recipient campaigns for the replies typed
  in discussions (as `create_campaign` saves them), STOP confirmations (no campaign). Statuses:
  most delivered, some sent (no report), failed, unknown, cancelled; `blocked` for numbers
  on the STOP list by then; the newest campaign still sending (a few hundred `queued`) and two
  campaigns `scheduled` for the coming days, each waiting message with its `OutboxEntry`
  (as `messaging.lifecycle` writes it). One `MessagePart` per segment of every message
  handed to the gateway. Some campaigns carry a tag; commercial ones the opt-out mention.
- About 40 % inbound: short French replies, `read` except the trailing ones of a few hundred
  discussions (`unread`); STOP and START messages for the STOP list.
- Texts from a French vocabulary with accents: a common word (`rendez-vous`, in about a
  fifth of the texts), a rare one (`parapluie`, a few dozen), some 20,000 distinct texts.
- One `Conversation` per correspondent, consistent with its messages (last_at, last_body,
  last_direction, unread_count).
- A directory: about C contacts (9 correspondents in 10, plus contacts never texted), a custom
  field `ville`, 12 groups (one of 60 % of the contacts).
- The STOP list: a few hundred numbers that sent STOP (their `OptOut` and the `added`
  `OptOutEvent`), some of which sent START later (a `removed` event, no `OptOut`), and some
  added by hand by an administrator. A few thousand calls.
Rows are written directly (PostgreSQL: COPY; SQLite: executemany in one transaction), after
`migrate`; the worker plays no part. Columns a later migration adds get their model default.

Usage:

    .venv/bin/python bench/million.py                        # SQLite, 1,000,000 messages
    .venv/bin/python bench/million.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_million
    .venv/bin/python bench/million.py --messages 20000 --correspondents 2000   # a quick look
    .venv/bin/python bench/million.py --keep ...             # reuse the database seeded before

On PostgreSQL the database named in the URL is dropped and created again (unless --keep finds
it seeded). SQLite: a file in --data-dir (default: a new temporary directory; with --keep,
$TMPDIR/smsdesk-million-N).
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HOME_BOUND = 0.050  # seconds, issue 12
PAGE_BOUND = 0.150
RUNS, WARM_UP = 20, 2
DEFAULT_PER_PAGE = 25  # core/lists.py's default page size: a deep page of 50,000 rows = page 2000
GATEWAY = "simulator"  # SMSDESK_GATEWAYS' default
COMMON_WORD = "rendez-vous"
RARE_WORD = "parapluie"
SEARCHED_NAME = "Lefèvre"
DAY = 86_400

# --- vocabulary -----------------------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


SURNAMES = _names(
    "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
    "Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, "
    "Girard, André, Mercier, Dupont, Lambert, Bonnet, François, Martinez, Legrand, Garnier, "
    "Faure, Rousseau, Blanc, Guérin, Muller, Henry, Roussel, Nicolas, Perrin, Morin, "
    "Mathieu, Clément, Gauthier, Dumont, Lopez, Fontaine, Chevalier, Robin, Masson, "
    "Sanchez, Gérard, Nguyen, Boyer, Denis, Lemaire, Duval, Joly, Gautier, Roger, Roche, "
    "Roy, Noël, Meyer, Lucas, Meunier, Jean, Pérez, Marchand, Dufour, Blanchard, Barbier, "
    "Brun, Dumas, Brunet, Schmitt, Leroux, Colin, Fernandez, Pierre, Renard, Arnaud, "
    "Rolland, Caron, Aubert, Giraud, Leclerc, Vidal, Bourgeois, Renaud, Lemoine, Picard, "
    "Gaillard, Philippe, Leclercq, Lacroix, Fabre, Dupuis, Olivier, Rodriguez, Da Silva, "
    "Hubert, Louis, Charles, Guillot, Rivière, Le Gall, Benoît"
)
FIRST_NAMES = _names(
    "Marie, Jean, Pierre, Michel, André, Philippe, Nathalie, Isabelle, Sylvie, Catherine, "
    "Françoise, Nicolas, Christophe, Stéphane, Frédéric, Céline, Sébastien, Julien, Émilie, "
    "Camille, Léa, Chloé, Manon, Inès, Jérôme, Hélène, Agnès, Noémie, Gaëlle, Zoé, Théo, "
    "Lucas, Hugo, Louis, Raphaël, Gabriel, Anaïs, Clémence, Aurélie, Benoît, Rémi, Loïc, "
    "Maëlle, Océane, Élodie, Valérie, Sophie, Thierry"
)
CITIES = _names(
    "Paris, Lyon, Marseille, Toulouse, Nice, Nantes, Strasbourg, Montpellier, Bordeaux, "
    "Lille, Rennes, Reims, Saint-Étienne, Le Havre, Grenoble, Dijon, Angers, Nîmes, "
    "Besançon, Orléans, Brest, Évry"
)
GROUPS = (
    "Clients",
    "Prospects",
    "Fournisseurs",
    "Équipe",
    "Bénévoles",
    "Parents d'élèves",
    "Abonnés lettre",
    "Fidélité or",
    "Fidélité argent",
    "Salon 2026",
    "Relances impayés",
    "Livraisons",
)
TAGS = ("soldes-été", "rappel-rdv", "newsletter", "relance", "noël", "enquête", "livraison")
CAMPAIGN_TEXTS = (
    "Bonjour, votre {w} est confirmé pour demain à {h}h. Répondez NON pour annuler.",
    "Soldes d'été : -30 % sur toute la boutique jusqu'à dimanche ! {w}",
    "Rappel : votre rendez-vous du {d} à {h}h. Merci de prévenir en cas d'empêchement.",
    "Votre colis n°{n} arrive aujourd'hui entre {h}h et {h2}h. {w}",
    "Chère cliente, cher client, notre magasin sera fermé le {d} pour inventaire.",
    "Votre facture de {n} € est disponible. Échéance le {d}. {w}",
    "Réunion des bénévoles le {d} à {h}h à la salle des fêtes. Café offert !",
    "Nouveauté : la carte fidélité dématérialisée est arrivée. {w}",
    "Enquête de satisfaction : notez notre service de 1 à 5 en répondant à ce SMS.",
    "Alerte météo : orages prévus ce soir, pensez à votre {w}.",
)
INBOUND_OPENINGS = (
    "Bonjour",
    "Merci",
    "Oui",
    "Non",
    "D'accord",
    "Bonsoir",
    "Salut",
    "Très bien",
    "Parfait",
    "Ok",
    "Désolé",
    "Entendu",
)
INBOUND_WORDS = (
    "je serai là",
    "pour jeudi",
    "à quelle heure",
    "c'est noté",
    "pouvez-vous me rappeler",
    "je confirme",
    "le colis n'est pas arrivé",
    "merci beaucoup",
    "à demain",
    "je suis en retard",
    "la réunion est où",
    "j'arrive dans 10 minutes",
    "le code ne marche pas",
    "où est le magasin",
    "c'est trop cher",
    "bonne journée",
    "je préfère vendredi",
    "déjà payé",
    "reçu, merci",
    "à bientôt",
    "mon numéro a changé",
    "peut-on décaler",
    "l'adresse exacte svp",
    "ça marche",
    "génial",
    "quel est le prix",
    "il pleut à Brest",
    "c'était très bien",
    "pas disponible cette semaine",
    "je rappelle plus tard",
)
CONFIRMATION = "Vous ne recevrez plus de SMS de notre part. Envoyez START pour revenir."


def _fill(template: str, rng: random.Random) -> str:
    day = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}"
    hour = rng.randint(8, 18)
    word = rng.choice((COMMON_WORD, "commande", "réservation", "dossier", "abonnement"))
    return template.format(w=word, h=hour, h2=hour + 2, d=day, n=rng.randint(1000, 99999))


def inbound_pool(rng: random.Random, size: int) -> list[str]:
    """Distinct-enough inbound texts; the rare word in about 1 text in 8,000 of the pool."""
    pool = []
    for i in range(size):
        words = [rng.choice(INBOUND_OPENINGS)]
        words += rng.sample(INBOUND_WORDS, rng.randint(1, 3))
        if rng.random() < 0.18:
            words.append(f"pour le {COMMON_WORD} de {rng.randint(8, 18)}h")
        if i % 8000 == 7:
            words.append(f"j'ai oublié mon {RARE_WORD} chez vous")
        pool.append(", ".join(words) + rng.choice((".", " !", " ?", "")))
    return pool


# --- the generator --------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the measurements need to know about the seeded data."""

    messages: int = 0
    correspondents: int = 0
    busiest_peer: str = ""
    big_campaign_id: int = 0
    big_campaign_size: int = 0
    word_hits: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Writer:
    """Rows into tables: COPY on PostgreSQL, executemany on SQLite. Columns not given get
    the model field's default (so a column added by a later migration still gets a value)."""

    def __init__(self, organisation_id: int | None = None) -> None:
        from django.db import connection

        self.connection = connection
        self.pg = connection.vendor == "postgresql"
        from smsdesk.core import tenancy

        # Every customer row: the organisation of a single-customer installation (bench/orgs.py
        # spreads the same data over many).
        self.organisation_id = organisation_id or tenancy.sole_organisation().pk

    def value(self, v: object) -> object:
        """A Python value as the database stores it (SQLite: ORM's text for dates)."""
        if v is None:
            return None
        if isinstance(v, datetime):
            return v if self.pg else str(v.astimezone(UTC).replace(tzinfo=None))
        if isinstance(v, dict | list):
            return json.dumps(v)
        return v

    def write(self, model, names: Sequence[str], rows: Iterable[Sequence[object]]) -> int:  # type: ignore[no-untyped-def]
        meta = model._meta
        given = [meta.get_field(n) for n in names]
        rest = [
            f
            for f in meta.concrete_fields
            if f not in given and not f.primary_key and not getattr(f, "generated", False)
        ]
        consts = tuple(
            self.organisation_id if f.name == "organisation" else self.value(f.get_default())
            for f in rest
        )
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in [*given, *rest])
        table = quote(meta.db_table)
        count = 0
        with self.connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row((*row, *consts))
                        count += 1
            else:
                marks = ", ".join(["%s"] * (len(given) + len(rest)))
                sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
                it = iter(rows)
                while chunk := list(itertools.islice(it, 50_000)):
                    cursor.executemany(sql, [(*row, *consts) for row in chunk])
                    count += len(chunk)
        return count


def french_numbers(rng: random.Random, n: int) -> list[str]:
    """n distinct valid French mobile numbers (06 except 063x/069x, and 073-079)."""
    prefixes = ("60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77")
    picks = rng.sample(range(len(prefixes) * 10**7), n)
    return [f"+33{prefixes[p // 10**7]}{p % 10**7:07d}" for p in picks]


def seed(
    *,
    messages: int = 1_000_000,
    correspondents: int = 20_000,
    rng_seed: int = 12,
    log: Callable[[str], None] = print,
    analyse: bool = True,
    organisation: Any = None,
    gateway: str = GATEWAY,
    usernames: tuple[str, str] = ("bench-admin", "bench-operator"),
    passwords: bool = True,
    counters: bool = True,
) -> Seeded:
    """Fill an empty, migrated database (see the module's docstring). Deterministic for a
    given `rng_seed`; dates are relative to now. `analyse=False` inside a test's transaction
    (PostgreSQL's VACUUM cannot run in one).

    bench/orgs.py calls it once per organisation of a shared database: `organisation` (default:
    the only one) owns every row, sent and received on its line `gateway`, by its users
    `usernames` (administrator, operator; `passwords=False`: none, no hashing, the bench logs in
    without one); ids follow those already in the tables. `counters=False` leaves the day and
    campaign counters to the caller (the migrations' backfills below count every
    organisation's messages into the only one)."""
    from django.apps import apps as django_apps
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from smsdesk.accounts.models import User
    from smsdesk.calls.models import Call
    from smsdesk.directory.models import Contact, ContactField, Group, search_name_of
    from smsdesk.messaging.models import (
        BLOCKED_REASON,
        Campaign,
        Conversation,
        GatewayState,
        Message,
        MessagePart,
        OutboxEntry,
    )
    from smsdesk.messaging.sending import commercial_text
    from smsdesk.optout.models import OptOut, OptOutEvent, Source
    from smsdesk.sms import gsm7

    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(days=365)
    # A table partitioned by month (`smsdesk messages partition --by-month` run first, the
    # option of messaging/partitions.py): a partition for each month seeded, not the
    # default's. One table (the default): nothing.
    from smsdesk.messaging import partitions

    partitions.ensure(since=start)
    span = 365 * DAY - 3600  # nothing generated in the last hour but the sending campaign
    w = Writer(organisation.pk if organisation is not None else None)
    S, D = Message.Status, Message.Direction
    line = gateway  # this organisation's line (`gateway` is a message field below)
    # Ids after those already written (another organisation's): 0 in an empty database.
    m0, c0, k0, g0 = (
        model.objects.across_orgs().aggregate(top=Max("id"))["top"] or 0
        for model in (Message, Campaign, Contact, Group)
    )

    def dt(value: datetime | None) -> object:
        return w.value(value)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    peers = french_numbers(rng, correspondents + correspondents // 10)
    others, peers = peers[correspondents:], peers[:correspondents]
    # Zipf-like activity: peer 0 is the busiest.
    cumulative = list(itertools.accumulate(1 / (rank + 5) ** 0.9 for rank in range(len(peers))))

    n_out = round(messages * 0.6)
    n_in = messages - n_out

    # The STOP list: numbers that sent STOP (some sent START later), others added by hand.
    n_stop = max(2, correspondents // 60)
    stoppers = rng.sample(range(1, len(peers)), min(n_stop, len(peers) - 1))
    stop_at = {p: rng.uniform(0, span) for p in stoppers}
    start_at = {p: stop_at[p] + rng.uniform(DAY, 30 * DAY) for p in stoppers[: n_stop // 10]}

    # --- campaigns: sizes adding up to the outbound messages, less replies and notices
    notices = len(stoppers)
    replies = max(1, round(n_out * 0.06))
    budget = n_out - replies - notices
    big = min(50_000, correspondents, max(1, budget // 3))
    sizes = [big]
    scheduled_sizes = [min(300, max(1, budget // 50))] * 2
    sending_size = min(2_000, correspondents, max(1, budget // 20))
    left = budget - big - sum(scheduled_sizes) - sending_size
    while left > 0:
        roll = rng.random()
        if roll < 0.4:
            size = rng.randint(2, 50)
        elif roll < 0.85:
            size = rng.randint(100, 2_000)
        else:
            size = rng.randint(2_000, 15_000)
        size = min(size, left, correspondents)
        sizes.append(size)
        left -= size
    # (created_at seconds, size, kind) — kind: "" sent, "sending", "scheduled"
    plan = [(rng.uniform(0, span), s, "") for s in sizes]
    plan.append((span + 3600 - 180, sending_size, "sending"))
    plan += [(span + 3600 - rng.uniform(3600, DAY), s, "scheduled") for s in scheduled_sizes]
    plan.sort()

    password = "x" if passwords else None
    admin = User.objects.create_user(
        usernames[0], password=password, role=User.Role.ADMIN, organisation=organisation
    )
    operator = User.objects.create_user(usernames[1], password=password, organisation=organisation)
    authors = [admin.id, operator.id]
    GatewayState.objects.get_or_create(name=line, defaults={"kind": "simulator"})

    campaigns = []  # (id, created_s, send_s, body, author, kind)
    campaign_rows = []
    for cid, (created_s, size, kind) in enumerate(plan, start=c0 + 1):
        body = _fill(rng.choice(CAMPAIGN_TEXTS), rng)
        tag = rng.choice(TAGS) if rng.random() < 0.6 else ""
        commercial = tag in ("soldes-été", "newsletter")
        if commercial:
            body = commercial_text(body)
        send_s = created_s + (rng.uniform(DAY, 3 * DAY) if kind == "scheduled" else 0)
        author = rng.choice(authors)
        campaigns.append((cid, created_s, send_s, body, author, kind))
        campaign_rows.append(
            (
                cid,
                author,
                body,
                at(send_s),
                at(created_s),
                {"numbers": [], "contacts": [], "groups": [g0 + 1]},
                size,
                "web",
                commercial,
                tag,
            )
        )
    reply_ids = range(c0 + len(campaigns) + 1, c0 + len(campaigns) + 1 + replies)

    # --- events, in time order: (seconds, kind, campaign index or -1, peer index)
    # kind: 0 campaign message, 1 reply, 2 STOP confirmation, 3 inbound, 4 STOP, 5 START
    log(f"planning {messages:,} messages, {len(campaigns):,} campaigns + {replies:,} replies")
    events: list[tuple[float, int, int, int]] = []
    for index, (_cid, created_s, _send, _body, _author, _kind) in enumerate(campaigns):
        size = campaign_rows[index][6]
        for p in sorted(rng.sample(range(len(peers)), size)):
            events.append((created_s, 0, index, p))
    for p in rng.choices(range(len(peers)), cum_weights=cumulative, k=replies):
        events.append((rng.uniform(0, span), 1, -1, p))
    specials = len(stoppers) + len(start_at)
    for p in rng.choices(range(len(peers)), cum_weights=cumulative, k=n_in - specials):
        events.append((rng.uniform(0, span), 3, -1, p))
    for p, s in stop_at.items():
        events.append((s, 4, -1, p))
        events.append((s + 1, 2, -1, p))
    for p, s in start_at.items():
        events.append((s, 5, -1, p))
    events.sort()
    assert len(events) == messages, (len(events), messages)

    # Unread: the trailing inbound messages of a few hundred discussions.
    unread_peers = set(rng.sample(range(len(peers)), min(len(peers), 400)))
    unread: set[int] = set()
    closed: set[int] = set()
    for i in range(len(events) - 1, -1, -1):
        p, kind = events[i][3], events[i][1]
        if p in closed or p not in unread_peers:
            continue
        if kind == 3:
            unread.add(i)
        else:
            closed.add(p)

    pool = inbound_pool(rng, max(100, min(20_000, messages // 20)))
    infos: dict[str, tuple[str, int]] = {}

    def info(text: str) -> tuple[str, int]:
        if text not in infos:
            analysed = gsm7.analyse(text)
            infos[text] = (analysed.encoding.value, max(1, analysed.segments))
        return infos[text]

    hits = {COMMON_WORD: 0, RARE_WORD: 0}
    conversations: dict[int, list] = {}  # peer -> [last_at, last_body, direction, unread]
    outbox: list[tuple[int, str, datetime]] = []
    parts: list[tuple[int, int, int, str, datetime | None]] = []  # id, seg, state, at
    pending_in_sending = min(300, sending_size)
    sending_seen = 0
    columns = [
        "id",
        "direction",
        "status",
        "peer",
        "gateway",
        "body",
        "encoding",
        "segments",
        "campaign",
        "author",
        "created_at",
        "due_at",
        "attempts",
        "sent_at",
        "status_at",
        "gateway_ref",
        "error",
        "keyword",
        "opt_out_notice",
    ]

    def rows() -> Iterator[tuple]:
        nonlocal sending_seen
        reply_id = iter(reply_ids)
        for i, (seconds, kind, c, p) in enumerate(events):
            mid = m0 + i + 1
            peer = peers[p]
            created = at(seconds)
            campaign_id = author = due = sent = status_at = None
            gateway, keyword, error, ref, attempts, notice = line, "", "", "", 0, False
            if kind >= 3:  # inbound
                direction = D.INBOUND
                status = S.UNREAD if i in unread else S.READ
                body = {4: "STOP", 5: "START"}.get(kind) or pool[rng.randrange(len(pool))]
                keyword = {4: "stop", 5: "start"}.get(kind, "")
                status_at = created
            else:
                direction = D.OUTBOUND
                if kind == 0:
                    campaign_id, _s, send_s, body, author, ckind = campaigns[c]
                    due = at(send_s)
                elif kind == 1:
                    campaign_id, author, ckind = next(reply_id), rng.choice(authors), ""
                    body = _fill(rng.choice(CAMPAIGN_TEXTS[:1] + CAMPAIGN_TEXTS[5:6]), rng)
                    body = pool[rng.randrange(len(pool))] if rng.random() < 0.5 else body
                    due = created
                    campaign_rows.append(
                        (
                            campaign_id,
                            author,
                            body,
                            created,
                            created,
                            {"numbers": [peer], "contacts": [], "groups": []},
                            1,
                            "web",
                            False,
                            "",
                        )
                    )
                else:
                    body, ckind, notice, due = CONFIRMATION, "", True, created
                stopped = (
                    p in stop_at
                    and stop_at[p] < seconds
                    and not (p in start_at and start_at[p] < seconds)
                )
                status_at = created
                if stopped and not notice:
                    status, error = S.BLOCKED, BLOCKED_REASON
                elif ckind == "scheduled":
                    status = S.SCHEDULED
                elif ckind == "sending" and sending_seen < pending_in_sending:
                    sending_seen += 1
                    status = S.QUEUED
                else:
                    roll = rng.random()
                    status = (
                        S.DELIVERED
                        if roll < 0.86
                        else S.SENT
                        if roll < 0.91
                        else S.FAILED
                        if roll < 0.96
                        else S.UNKNOWN
                        if roll < 0.985
                        else S.CANCELLED
                    )
                if status in (S.QUEUED, S.SCHEDULED):
                    outbox.append((mid, line, due))
                elif status in (S.DELIVERED, S.SENT, S.FAILED, S.UNKNOWN):
                    attempts = 1
                    sent = created + timedelta(seconds=rng.uniform(1, 60))
                    status_at = sent + timedelta(seconds=rng.uniform(2, 600))
                    if status != S.UNKNOWN:
                        ref = f"{mid:x}"
                if status == S.FAILED:
                    error = rng.choice(("number unknown to the network", "handset unreachable"))
            encoding, segments = info(body)
            if ref:
                state = {S.DELIVERED: 1, S.FAILED: 2}.get(status, 0)
                parts.append((mid, segments, state, None if state == 0 else status_at))
            lowered = body.lower()
            for word in hits:
                hits[word] += word in lowered
            conv = conversations.get(p)
            if conv is None:
                conversations[p] = [created, body[:160], direction, 0]
            else:
                conv[0], conv[1], conv[2] = created, body[:160], direction
            if status == S.UNREAD:
                conversations[p][3] += 1
            yield (
                mid,
                direction,
                status,
                peer,
                gateway,
                body,
                encoding,
                segments,
                campaign_id,
                author,
                dt(created),
                dt(due),
                attempts,
                dt(sent),
                dt(status_at),
                ref,
                error,
                keyword,
                notice,
            )

    # Contacts: 9 correspondents in 10, and contacts never texted.
    contact_numbers = [n for i, n in enumerate(peers) if i % 10 != 9] + others
    contact_rows = []
    for cid, number in enumerate(contact_numbers, start=k0 + 1):
        contact_rows.append(
            (
                cid,
                rng.choice(SURNAMES),
                number,
                rng.choice(FIRST_NAMES) if rng.random() < 0.9 else "",
                {"ville": rng.choice(CITIES)} if rng.random() < 0.8 else {},
                at(rng.uniform(0, span)),
                at(span),
            )
        )
    members = []
    for gid in range(g0 + 1, g0 + len(GROUPS) + 1):
        share = 0.6 if gid == g0 + 1 else rng.uniform(0.005, 0.1)
        chosen = rng.sample(
            range(k0 + 1, k0 + len(contact_rows) + 1), int(len(contact_rows) * share)
        )
        members += [(gid, c) for c in sorted(chosen)]

    through = Group.contacts.through
    with transaction.atomic():
        if not w.pg:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size=-400000")
        t = time.perf_counter()
        n = w.write(Message, columns, rows())
        log(f"  messages: {n:,} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        w.write(
            Campaign,
            [
                "id",
                "author",
                "body",
                "send_at",
                "created_at",
                "targets",
                "recipient_count",
                "source",
                "commercial",
                "tag",
            ],
            ([w.value(v) for v in row] for row in campaign_rows),
        )
        w.write(
            MessagePart,
            ["message", "seq", "total", "gateway_id", "reference", "state", "reported_at"],
            (
                (
                    mid,
                    seq,
                    total,
                    line,
                    f"{mid:x}-{seq}",
                    ("sent", "delivered", "failed")[s],
                    w.value(when),
                )
                for mid, total, s, when in parts
                for seq in range(1, total + 1)
            ),
        )
        w.write(
            OutboxEntry,
            ["message_id", "gateway_id", "due_at"],
            ((m, g, w.value(d)) for m, g, d in outbox),
        )
        w.write(
            Conversation,
            ["peer", "last_at", "last_body", "last_direction", "unread_count"],
            (
                (peers[p], w.value(c[0]), c[1], c[2], c[3])
                for p, c in sorted(conversations.items(), key=lambda item: item[1][0])
            ),
        )
        log(f"  campaigns, parts, queue, discussions in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        ContactField.objects.create(key="ville", label="Ville", organisation=organisation)
        w.write(
            Contact,
            [
                "id",
                "name",
                "number",
                "first_name",
                "fields",
                "created_at",
                "updated_at",
                "search_name",
            ],
            ([*(w.value(v) for v in row), search_name_of(row[1], row[3])] for row in contact_rows),
        )
        w.write(
            Group,
            ["id", "name", "created_at", "search_name"],
            (
                (i, name, w.value(at(0)), search_name_of(name, ""))
                for i, name in enumerate(GROUPS, start=g0 + 1)
            ),
        )
        w.write(through, ["group", "contact"], members)
        stop_rows, event_rows = [], []
        for p, s in sorted(stop_at.items(), key=lambda item: item[1]):
            event_rows.append((peers[p], "added", Source.SMS, at(s), None, "", "", "STOP"))
            if p in start_at:
                event_rows.append(
                    (peers[p], "removed", Source.SMS, at(start_at[p]), None, "", "", "START")
                )
            else:
                stop_rows.append((peers[p], Source.SMS, "STOP", at(s), None))
        for number in rng.sample(others, min(len(others), max(1, correspondents // 400))):
            when = at(rng.uniform(0, span))
            reason = "Demande par téléphone"
            stop_rows.append((number, Source.MANUAL, reason, when, admin.id))
            event_rows.append(
                (number, "added", Source.MANUAL, when, admin.id, admin.username, reason, "")
            )
        event_rows.sort(key=lambda row: row[3])
        w.write(
            OptOut,
            ["number", "source", "keyword", "created_at", "by"],
            ([w.value(v) for v in row] for row in stop_rows),
        )
        w.write(
            OptOutEvent,
            ["number", "action", "source", "at", "by", "by_name", "reason", "text"],
            ([w.value(v) for v in row] for row in event_rows),
        )
        call_times = sorted(rng.uniform(0, span) for _ in range(max(10, messages // 300)))
        w.write(
            Call,
            ["caller", "gateway", "at"],
            (
                (
                    "" if rng.random() < 0.05 else peers[rng.randrange(len(peers))],
                    line,
                    w.value(at(s)),
                )
                for s in call_times
            ),
        )
        log(f"  directory, STOP list, calls in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        # What the services keep beside the messages: the Unread list's entries and the
        # home page's day counters (the counters migration's own backfill, run once more).
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO messaging_unreadentry (message_id, created_at, organisation_id) "
                "SELECT id, created_at, organisation_id FROM messaging_message "
                "WHERE direction = 'in' AND status = 'unread' AND organisation_id = %s",
                [w.organisation_id],
            )
        if counters:
            daily = import_module("smsdesk.messaging.migrations.0013_counts_per_tag_user")
            daily.backfill(django_apps, SimpleNamespace(connection=connection))
            # The campaigns' counts per state (messaging/lifecycle.py), as their migration does.
            campaign_counts = import_module("smsdesk.messaging.migrations.0012_campaign_counts")
            campaign_counts.backfill(django_apps, SimpleNamespace(connection=connection))
        log(f"  unread entries, day and campaign counters in {time.perf_counter() - t:.1f} s")
        _reset_sequences(
            [
                Message,
                Campaign,
                MessagePart,
                Conversation,
                Contact,
                Group,
                through,
                OptOut,
                OptOutEvent,
                Call,
            ]
        )
    if analyse:
        t = time.perf_counter()
        _analyse()
        log(f"  ANALYZE in {time.perf_counter() - t:.1f} s")
    return Seeded(
        messages=messages,
        correspondents=correspondents,
        busiest_peer=peers[0],
        big_campaign_id=next(
            c[0]
            for c, (_s, size, kind) in zip(campaigns, plan, strict=True)
            if size == big and kind == ""
        ),
        big_campaign_size=big,
        word_hits=hits,
        seconds=time.perf_counter() - started,
    )


def _reset_sequences(models: Sequence) -> None:  # type: ignore[type-arg]
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _analyse() -> None:
    """Fresh statistics, as autovacuum / `smsdesk` would have them on a database that grew
    over a year (PostgreSQL also sets the visibility map: index-only scans)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        autocommit = raw.autocommit
        raw.autocommit = True
        try:
            raw.execute("VACUUM ANALYZE")
        finally:
            raw.autocommit = autocommit
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seeded_facts() -> Seeded:
    """The facts of a database seeded earlier (--keep)."""
    from django.db.models import Count

    from smsdesk.messaging.models import Campaign, Conversation, Message

    busiest = Message.objects.values("peer").annotate(n=Count("id")).order_by("-n").first() or {}
    big = Campaign.objects.order_by("-recipient_count", "id").first()
    return Seeded(
        messages=Message.objects.count(),
        correspondents=Conversation.objects.count(),
        busiest_peer=busiest.get("peer", ""),
        big_campaign_id=big.id if big else 0,
        big_campaign_size=big.recipient_count if big else 0,
    )


def check_invariants() -> list[str]:
    """What would make the seeded data impossible for the application (empty: all good)."""
    from django.db.models import Count, Max, Q

    from smsdesk.messaging.models import (
        Campaign,
        Conversation,
        Message,
        MessagePart,
        OutboxEntry,
    )
    from smsdesk.optout.models import OptOut, OptOutEvent

    S = Message.Status
    problems = []
    per_peer = {
        row["peer"]: row
        for row in Message.objects.values("peer").annotate(
            last=Max("created_at"), unread=Count("id", filter=Q(status=S.UNREAD))
        )
    }
    conversations = {c.peer: c for c in Conversation.objects.all()}
    if set(per_peer) != set(conversations):
        problems.append("discussions and messages' correspondents differ")
    for peer, row in per_peer.items():
        conv = conversations.get(peer)
        if conv and (conv.last_at != row["last"] or conv.unread_count != row["unread"]):
            problems.append(f"discussion {peer}: {conv.last_at}/{conv.unread_count} vs {row}")
            break
    for conv in Conversation.objects.all()[:50]:
        last = Message.objects.filter(peer=conv.peer).order_by("-created_at", "-id").first()
        if last and (last.body[:160] != conv.last_body or last.direction != conv.last_direction):
            problems.append(f"discussion {conv.peer}: last text or direction differs")
            break
    waiting = set(
        Message.objects.filter(status__in=[S.QUEUED, S.SCHEDULED]).values_list("id", flat=True)
    )
    if waiting != set(OutboxEntry.objects.values_list("message_id", flat=True)):
        problems.append("queue rows and waiting messages differ")
    if not waiting:
        problems.append("no waiting message")
    bad_counts = (
        Campaign.objects.annotate(n=Count("messages"))
        .exclude(n=models_f("recipient_count"))
        .count()
    )
    if bad_counts:
        problems.append(f"{bad_counts} campaigns whose recipient_count is not their messages")
    from smsdesk.messaging import lifecycle

    ids = list(Campaign.objects.values_list("id", flat=True))
    kept = lifecycle.campaign_counts(ids)
    scanned: dict[int, dict[str, int]] = {i: {} for i in ids}
    grouped = Message.objects.filter(campaign_id__isnull=False).values_list("campaign_id", "status")
    for cid, status, n in grouped.annotate(n=Count("id")).order_by():
        bucket = lifecycle.BUCKET_OF[status]
        scanned[cid][bucket] = scanned[cid].get(bucket, 0) + n
    if kept != scanned:
        problems.append("campaign counts differ from the campaigns' messages")
    handed = S.DELIVERED, S.SENT, S.FAILED
    with_parts = set(MessagePart.objects.values_list("message_id", flat=True).distinct())
    if with_parts != set(Message.objects.filter(status__in=handed).values_list("id", flat=True)):
        problems.append("message parts are not exactly those of the messages handed over")
    added = set(OptOutEvent.objects.filter(action="added").values_list("number", flat=True))
    if not set(OptOut.objects.values_list("number", flat=True)) <= added:
        problems.append("a STOP entry without its 'added' event")
    if not Message.objects.filter(status=S.UNREAD).exists():
        problems.append("no unread message")
    blocked = Message.objects.filter(status=S.BLOCKED).values_list("peer", flat=True)
    if not set(blocked) <= added:
        problems.append("a blocked message to a number never on the STOP list")
    return problems


def models_f(name: str):  # type: ignore[no-untyped-def]
    from django.db.models import F

    return F(name)


# --- measurements ---------------------------------------------------------------------------

HREF = re.compile(r'href="([^"]*)"')
LAST_LINK = re.compile(r'<a[^>]*href="([^"]*)"[^>]*>\s*(?:Last|Dernière|»)\s*<', re.I)
PAGE_COUNT = re.compile(r">\s*1 / ([\d\s.,\u202f\xa0]+)<")
REL_LAST = re.compile(r'<a[^>]*rel="last"[^>]*href="([^"]*)"|<a[^>]*href="([^"]*)"[^>]*rel="last"')


def deep_page_url(client, first_url: str, depth_rows: int = 50_000) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The URL of a page about `depth_rows` rows into the list at `first_url`, found from
    the first page's own links so that it works with either paging: a "Last" link (keyset
    paging: as deep as it gets) if there is one, else `?page=` set to depth / page size
    (offset paging: page 2000 of 25 = 50,000 rows in; a list shorter than that gives its
    last page). Returns the URL and the depth it stands for."""
    body = client.get(first_url).content.decode()
    match = REL_LAST.search(body) or LAST_LINK.search(body)
    if match:
        href = html.unescape(next(g for g in match.groups() if g))
        return _absolute(first_url, href), "last page"
    links = [html.unescape(h) for h in HREF.findall(body)]
    if any(re.search(r"[?&]page=", h) for h in links):  # not per_page=, the size picker
        parts = urlsplit(first_url)
        query = dict(parse_qsl(parts.query))
        per_page = int(query.get("per_page", DEFAULT_PER_PAGE))
        page = max(2, depth_rows // per_page)
        depth = f"page {page:,}"
        pages = PAGE_COUNT.search(body)  # "1 / 800": a shorter list is read at its last page
        if pages and int(re.sub(r"\D", "", pages.group(1))) < page:
            page = int(re.sub(r"\D", "", pages.group(1)))
            depth = f"last page, {page:,}"
        query["page"] = str(page)
        return urlunsplit(parts._replace(query=urlencode(query))), depth
    nexts = [h for h in links if "after=" in h or "cursor=" in h]
    if nexts:
        return _absolute(first_url, nexts[-1]), "second page (no deeper link)"
    return first_url, "first page (no paging links)"


def _absolute(base: str, href: str) -> str:
    if href.startswith("?"):
        return urlsplit(base).path + href
    return href


@dataclass
class Figure:
    label: str
    median: float
    worst: float
    queries: int
    bound: float

    @property
    def over(self) -> bool:
        return self.median >= self.bound


def measure(  # type: ignore[no-untyped-def]
    client, label: str, url: str, bound: float = PAGE_BOUND, *, repeat: int = 0, **headers
) -> Figure:
    """`repeat`: how many timed runs (default RUNS after WARM_UP warm-ups; 1: one after one
    warm-up, for the number of queries of a page seen before: the first visit of a
    discussion also marks its messages read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs = []
    queries = 0
    warm_up = 1 if repeat == 1 else WARM_UP
    for i in range(warm_up + (repeat or RUNS)):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            if response.streaming:  # a CSV: the time to its last byte
                b"".join(response.streaming_content)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        if i >= warm_up:
            runs.append(elapsed)
            queries = max(queries, len(captured))
    figure = Figure(label, statistics.median(runs), max(runs), queries, bound)
    flag = f"  OVER {bound * 1000:g} ms" if figure.over else ""
    print(
        f"| {label} | {figure.median * 1000:.1f} | {figure.worst * 1000:.1f} | "
        f"{figure.queries} |{flag}",
        flush=True,
    )
    return figure


def national(e164: str) -> str:
    """+33615261415 -> '06 15 26 14 15' (how a user types it)."""
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def measure_pages(
    facts: Seeded,
    only: str = "",
    *,
    user: Any = None,
    repeat: int = 0,
) -> list[Figure]:
    """Every page, as `user` (default: bench-admin, the only organisation's administrator);
    `repeat` as `measure`'s."""
    from django.test import Client

    from smsdesk.accounts import services as accounts
    from smsdesk.accounts.models import User
    from smsdesk.messaging.models import Conversation

    user = (
        user
        or User.objects.filter(username="bench-admin").first()
        or User.objects.create_user("bench-admin", password="x", role=User.Role.ADMIN)
    )
    client = Client()
    client.force_login(user)
    _token, raw = accounts.create_token(user=user)
    bearer = {"Authorization": f"Bearer {raw}"}
    conversation = Conversation.objects.for_org(user.organisation_id).get(peer=facts.busiest_peer)
    number = national(facts.busiest_peer)
    campaign = f"/sms/campaigns/{facts.big_campaign_id}/"
    figures = []

    def page(label: str, url: str, bound: float = PAGE_BOUND, **headers: str) -> None:
        if only and not any(part in label for part in only.split(",")):
            return
        figures.append(measure(client, label, url, bound, repeat=repeat, **headers))

    def deep(label: str, url: str) -> None:
        target, depth = deep_page_url(client, url)
        page(f"{label}, deep ({depth})", target)

    print("| page | median ms | worst ms | queries |")
    print("|---|---|---|---|")
    page("Accueil (home)", "/", HOME_BOUND)
    page("Discussions", "/sms/conversations/")
    deep("Discussions", "/sms/conversations/")
    page(
        f"one discussion (busiest, {facts.busiest_peer})", f"/sms/conversations/{conversation.id}/"
    )
    page("Envoyés, first page", "/sms/sent/")
    deep("Envoyés", "/sms/sent/")
    page("Reçus", "/sms/received/")
    deep("Reçus", "/sms/received/")
    page("Non lus", "/sms/unread/")
    page(f"Envoyés, search a rare word ({RARE_WORD})", f"/sms/sent/?q={RARE_WORD}")
    page(f"Envoyés, search a common word ({COMMON_WORD})", f"/sms/sent/?q={COMMON_WORD}")
    page(f"Envoyés, search a number ({number})", "/sms/sent/?" + urlencode({"q": number}))
    page(f"Envoyés, search a name ({SEARCHED_NAME})", f"/sms/sent/?q={SEARCHED_NAME}")
    page(f"Reçus, search a common word ({COMMON_WORD})", f"/sms/received/?q={COMMON_WORD}")
    page("Discussions, search a number", "/sms/conversations/?" + urlencode({"q": number}))
    page("Répertoire, contacts", "/directory/contacts/")
    deep("Répertoire, contacts", "/directory/contacts/")
    page(f"Répertoire, search ({SEARCHED_NAME})", f"/directory/contacts/?q={SEARCHED_NAME}")
    # Issue 21: names without accents, through the folded search_name column.
    for typed in ("helene", "jerome", "zoe", "hel", "helene durand"):
        q = urlencode({"q": typed})
        page(f"Répertoire, search without accents ({typed})", f"/directory/contacts/?{q}")
        page(f"New SMS picker, type-ahead ({typed})", f"/directory/suggest/contacts/?{q}")
        page(f"Envoyés, search a name without accents ({typed})", f"/sms/sent/?{q}")
    page("Reçus, search a name without accents (zoe)", "/sms/received/?q=zoe")
    page("Discussions, search a name without accents (zoe)", "/sms/conversations/?q=zoe")
    page("Groupes, search without accents (eleves)", "/directory/groups/?q=eleves")
    page("API contacts?q=helene", "/api/v1/contacts?q=helene", **bearer)
    page("API messages?q=jerome", "/api/v1/messages?q=jerome", **bearer)
    page("Groupes", "/directory/groups/")
    page("Campagnes", "/sms/campaigns/")
    page(f"one campaign ({facts.big_campaign_size:,} recipients)", campaign)
    deep("its recipients", campaign)
    page("its recipients, search a number", campaign + "?" + urlencode({"q": number[:8]}))
    page("STOP list", "/stop/")
    page("STOP history", "/stop/history/")
    page("Appels", "/calls/")
    page(f"API messages?q={COMMON_WORD}", f"/api/v1/messages?q={COMMON_WORD}", **bearer)
    page(f"API messages?q={RARE_WORD}", f"/api/v1/messages?q={RARE_WORD}", **bearer)
    page("API messages", "/api/v1/messages", **bearer)
    # Statistiques (issue 20): a year of counters, each grouping
    year = f"from={date.today() - timedelta(days=364)}&to={date.today()}"
    for by in ("day", "week", "month", "line", "tag", "user"):
        page(f"Statistiques, a year by {by}", f"/statistics/?{year}&by={by}")
    page("Statistiques, CSV, a year by tag", f"/statistics/export/?{year}&by=tag")
    page("API stats, a year by day", f"/api/v1/stats?{year}&by=day", **bearer)
    page("API stats, a year by user", f"/api/v1/stats?{year}&by=user", **bearer)
    page("API messages?direction=in", "/api/v1/messages?direction=in", **bearer)
    page("API contacts", "/api/v1/contacts", **bearer)
    page("API campaigns", "/api/v1/campaigns", **bearer)
    page("API optouts", "/api/v1/optouts", **bearer)
    page("API calls", "/api/v1/calls", **bearer)
    return figures


# --- the run --------------------------------------------------------------------------------


def main() -> None:
    import _setup  # beside this script (the tests import this module as bench.million)

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages seeded")
    parser.add_argument("--correspondents", type=int, default=20_000, help="peer numbers")
    parser.add_argument("--seed", type=int, default=12, help="the generator's random seed")
    _setup.add_database_option(parser)
    parser.add_argument("--data-dir", default="", help="SQLite file's directory")
    parser.add_argument("--keep", action="store_true", help="reuse a database seeded before")
    parser.add_argument("--check", action="store_true", help="check the seeded data's rules")
    parser.add_argument(
        "--only",
        default="",
        help="measure only the pages whose label has one of these (comma-separated)",
    )
    args = parser.parse_args()

    data_dir = args.data_dir or (
        os.path.join(tempfile.gettempdir(), f"smsdesk-million-{args.messages}") if args.keep else ""
    )
    # the pages are measured, not the token's rate limit (50 a second by default)
    url, data_dir = _setup.environment(
        args.database_url, data_dir, SMSDESK_DEBUG="0", SMSDESK_API_RATE="0"
    )
    reuse = args.keep and _seeded_before(url)
    if not reuse:
        _setup.empty_database(url)
    _setup.start_django(migrate=False)
    from django.core.management import call_command
    from django.db import connection

    print(f"{connection.vendor}, {url if url.startswith('postgres') else data_dir}")
    if reuse:
        facts = seeded_facts()
        print(f"reusing the seeded database: {facts.messages:,} messages")
    else:
        call_command("migrate", verbosity=0)
        print(f"seeding {args.messages:,} messages, {args.correspondents:,} correspondents")
        facts = seed(messages=args.messages, correspondents=args.correspondents, rng_seed=args.seed)
        print(f"seeded in {facts.seconds:.1f} s; texts with {facts.word_hits}")
    if args.check:
        problems = check_invariants()
        print("invariants:", "; ".join(problems) or "all hold")
    figures = measure_pages(facts, args.only)
    over = [f.label for f in figures if f.over]
    print(
        f"\nmedian of {RUNS} after {WARM_UP} warm-up; over their bound: {', '.join(over) or 'none'}"
    )


def _seeded_before(url: str) -> bool:
    """Whether `url` names a database that a previous run seeded (its message table filled)."""
    if url.startswith("postgres"):
        import psycopg

        try:
            with psycopg.connect(url) as conn:
                return bool(conn.execute("SELECT 1 FROM messaging_message LIMIT 1").fetchone())
        except psycopg.Error:
            return False
    import sqlite3

    path = url.removeprefix("sqlite:///")
    if not os.path.exists(path):
        return False
    try:
        with sqlite3.connect(path) as conn:
            return bool(conn.execute("SELECT 1 FROM messaging_message LIMIT 1").fetchone())
    except sqlite3.Error:
        return False


if __name__ == "__main__":
    main()

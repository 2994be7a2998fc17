/* Progressive enhancement only: every page works without this file.
 * - On a record page, bring the quoted passage into view and move focus to it, so keyboard
 *   and screen-reader users start reading where the search result pointed.
 * - On a page with form errors, move focus to the error summary (GOV.UK pattern).
 * - On the search page, results as you type (see resultsAsYouType).
 * - On a recording's record page, a transcript line's time link plays from that time in place
 *   (without this file the link reloads the page with the player starting there).
 */
(function () {
  'use strict'

  var PAUSE_MS = 400
  var PARTS = ['day', 'month', 'year']

  function focusOnLoad () {
    var summary = document.querySelector('.govuk-error-summary')
    if (summary) {
      summary.focus()
      return
    }
    var cited = document.getElementById('cited')
    if (cited) {
      cited.scrollIntoView({ block: 'center' })
      cited.focus({ preventScroll: true })
    }
  }

  /* Results as you type. While the user types in the query box, the search runs for the text
   * typed so far each time a word is completed (a whitespace character typed right after a
   * non-blank character) and after PAUSE_MS without typing. Never for blank text, never twice
   * in a row for the same text and filters (the page's own results count as the first). Every
   * other field goes as the form would submit it. The answer is the server's rendering of the
   * results region alone (partial=1), through the same audited search as a submitted form.
   * Only the newest request counts: the previous one is aborted, and any answer that is not
   * for the newest is dropped. On success the region is replaced, the address becomes the
   * full-page URL of that search, and a polite live region says so; the input is never
   * touched. 401 (signed out) loads the full page, which goes to sign-in; anything else
   * (429, 400, 5xx, network) keeps the results shown, and Enter still submits the form.
   * The date boxes then hold what the full page of that search would show (fillDates): a date
   * phrase in the words ("since March 2024") fills them, and taking it out empties them.
   */
  function resultsAsYouType (form, box, status) {
    var timer = null
    var controller = null
    var latest = 0

    function params () {
      var values = new URLSearchParams(new FormData(form))
      values.set('q', box.value.trim())
      return values
    }

    var lastKey = params().toString()

    function clearErrors () {
      var summary = document.querySelector('.govuk-error-summary')
      if (!summary) return
      summary.remove()
      document.querySelectorAll('.govuk-error-message').forEach(function (el) { el.remove() })
      document.querySelectorAll('[aria-describedby]').forEach(function (el) {
        var ids = el.getAttribute('aria-describedby').replace(/\s*\S+-error\b/g, '')
        el.setAttribute('aria-describedby', ids.trim())
      })
      ;['govuk-form-group--error', 'govuk-input--error'].forEach(function (name) {
        document.querySelectorAll('.' + name).forEach(function (el) { el.classList.remove(name) })
      })
    }

    /* Put the date boxes of the search just shown (the region's data-date-boxes, as the full
     * page would render them) into the form, with the hidden read_from/read_to that say
     * which date came from the words. A date box the user has changed since the request was
     * sent, or is in, is theirs and is left alone. Returns what changed, in words. */
    function fillDates (fresh, sent) {
      var wanted
      try {
        wanted = JSON.parse(fresh.getAttribute('data-date-boxes') || 'null')
      } catch (e) {
        return []
      }
      var said = []
      if (!wanted) return said
      ;[['from', 'Date from'], ['to', 'Date to']].forEach(function (pair) {
        var key = pair[0]
        var want = wanted[key]
        var boxes = PARTS.map(function (part) { return document.getElementById(key + '_' + part) })
        if (!want || boxes.indexOf(null) !== -1 || boxes.indexOf(document.activeElement) !== -1) {
          return
        }
        var now = boxes.map(function (box) { return box.value.trim() })
        var asked = PARTS.map(function (part) { return (sent.get(key + '_' + part) || '').trim() })
        if (now.join('/') !== asked.join('/')) return
        var target = PARTS.map(function (part) { return want[part] || '' })
        if (target.join('/') !== now.join('/')) {
          boxes.forEach(function (box, i) { box.value = target[i] })
          said.push(want.label ? pair[1] + ' filled in from your search: ' + want.label
            : pair[1] + ' cleared')
        }
        var hidden = form.querySelector('input[type="hidden"][name="read_' + key + '"]')
        if (want.read && !hidden) {
          hidden = document.createElement('input')
          hidden.type = 'hidden'
          hidden.name = 'read_' + key
          form.appendChild(hidden)
        }
        if (want.read) hidden.value = want.read
        else if (hidden) hidden.remove()
      })
      return said
    }

    function show (html, url, text, sent) {
      var region = document.getElementById('search-results')
      var parsed = document.createElement('template')
      parsed.innerHTML = html
      var fresh = parsed.content.getElementById('search-results')
      if (!region || !fresh || region.contains(document.activeElement)) return
      region.replaceWith(fresh)
      history.replaceState(history.state, '', url)
      document.title = fresh.getAttribute('data-title') || document.title
      clearErrors()
      var unchanged = params().toString() === sent.toString()
      var said = fillDates(fresh, sent)
      // filled boxes ask for the same search (the words still decide): not a new one
      if (unchanged) lastKey = params().toString()
      status.textContent = ['Results updated for \u2018' + text + '\u2019'].concat(said).join('. ')
    }

    function run () {
      clearTimeout(timer)
      var values = params()
      var text = values.get('q')
      var key = values.toString()
      if (!text || key === lastKey) return
      lastKey = key
      if (controller) controller.abort()
      controller = new AbortController()
      var id = ++latest
      var page = new URL(form.action)
      page.search = key
      var partial = new URL(page.href)
      partial.searchParams.set('partial', '1')
      fetch(partial.href, {
        signal: controller.signal,
        credentials: 'same-origin',
        redirect: 'manual',
        headers: { Accept: 'text/html' }
      }).then(function (response) {
        if (id !== latest) return
        if (response.status === 401 || response.type === 'opaqueredirect') {
          window.location.assign(page.href)
          return
        }
        if (response.status !== 200) return
        return response.text().then(function (html) {
          if (id === latest) show(html, page.href, text, values)
        })
      }).catch(function () {})
    }

    box.addEventListener('input', function (event) {
      if (event.isComposing) return
      clearTimeout(timer)
      var at = box.selectionEnd === null ? box.value.length : box.selectionEnd
      var typed = !/^delete/.test(event.inputType || '')
      if (typed && /\s/.test(box.value.charAt(at - 1)) && /\S/.test(box.value.charAt(at - 2))) {
        run()
      }
      timer = setTimeout(run, PAUSE_MS)
    })
    form.addEventListener('submit', function () {
      clearTimeout(timer)
      latest++
      if (controller) controller.abort()
    })
  }

  /* Seek links: the link still works as a link (reloading the page at its time) when the
   * player is missing or refuses to seek. The player's source already starts at the cited time
   * through its #t= fragment; this only handles the user's later choices. */
  function seekLinks (player) {
    var links = document.querySelectorAll('a[data-seek]')
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener('click', function (event) {
        var at = parseFloat(link.getAttribute('data-seek'))
        if (isNaN(at)) return
        event.preventDefault()
        player.currentTime = at
        var playing = player.play()
        if (playing && playing.catch) playing.catch(function () {})
        player.focus()
      })
    })
  }

  focusOnLoad()
  var player = document.getElementById('recording-player')
  if (player) seekLinks(player)
  var form = document.getElementById('search-form')
  var box = document.getElementById('q')
  var status = document.getElementById('search-status')
  if (form && box && status && window.fetch && window.AbortController && history.replaceState) {
    resultsAsYouType(form, box, status)
  }
})()
